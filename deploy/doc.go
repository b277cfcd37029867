// Package deploy holds the files that run bidsieve as a fleet:
//
//   - Dockerfile: the one static binary;
//   - kubernetes/: stateless gateway replicas (Deployment with resources and a grace
//     period that covers server.drain_timeout, HorizontalPodAutoscaler on CPU,
//     PodDisruptionBudget), settings in PostgreSQL (Secret), the model on shared storage,
//     traces to an OpenTelemetry collector;
//   - compose.yaml (with compose/, otel/): the fleet's parts on one machine: gateway,
//     dsp-sim, Kafka in KRaft mode, bidlog-sink, PostgreSQL, Prometheus, Grafana and the
//     OpenTelemetry collector;
//   - prometheus/: the alert rules, their promtool unit tests, and the compose stack's
//     Prometheus configuration;
//   - grafana/: the dashboard and its provisioning.
//
// No Docker engine or cluster runs in CI, so the package's tests validate the files with
// real tools instead: every manifest decodes strictly into the official Kubernetes types
// (k8s.io/api; an unknown or misspelt field fails) and agrees with the configuration that
// bidsieve itself accepts; `promtool check rules`, `promtool test rules` and `promtool
// check config` pass; every metric that the dashboard and the alerts query is served by a
// running gateway's /metrics or registered by the code; and the compose file names the
// same image, command, ports and configuration as the manifests.
package deploy
