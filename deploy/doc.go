// Package deploy holds the files that run bidsieve as a fleet: a Dockerfile for the one
// static binary and Kubernetes manifests (stateless gateway replicas, settings in
// PostgreSQL, the model on shared storage). No Docker engine or cluster runs in CI, so the
// package's tests validate the files instead: every manifest parses and names what it
// must, the ConfigMap holds a configuration that bidsieve itself accepts, and the ports,
// probes, paths and environment agree with that configuration and with the Dockerfile.
package deploy
