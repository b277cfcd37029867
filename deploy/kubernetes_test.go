package deploy

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/bidsieve/bidsieve/config"
)

// typedKinds are the Kubernetes objects deploy/kubernetes may hold, as the API server's
// types: a manifest of another kind fails the test until it is added here.
var typedKinds = map[string]func() any{
	"v1/ConfigMap":                           func() any { return new(corev1.ConfigMap) },
	"v1/Secret":                              func() any { return new(corev1.Secret) },
	"v1/Service":                             func() any { return new(corev1.Service) },
	"v1/PersistentVolumeClaim":               func() any { return new(corev1.PersistentVolumeClaim) },
	"apps/v1/Deployment":                     func() any { return new(appsv1.Deployment) },
	"policy/v1/PodDisruptionBudget":          func() any { return new(policyv1.PodDisruptionBudget) },
	"autoscaling/v2/HorizontalPodAutoscaler": func() any { return new(autoscalingv2.HorizontalPodAutoscaler) },
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// typedManifests decodes every document under kubernetes/ strictly into its official
// type (k8s.io/api): a misspelt or unknown field, or a value of the wrong type, is an
// error, as `kubectl apply --validate=strict` would report it.
func typedManifests(t *testing.T) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, mf := range manifestFiles(t) {
		f := mf.name
		for i, doc := range docSeparator.Split(string(mf.data), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			key, obj, err := decodeStrict([]byte(doc))
			if err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			if _, dup := out[key]; dup {
				t.Fatalf("%s: %s defined twice", f, key)
			}
			out[key] = obj
		}
	}
	return out
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// decodeStrict decodes one manifest into its type; it returns "Kind/name" and the object.
func decodeStrict(doc []byte) (string, any, error) {
	var tm metav1.TypeMeta
	if err := sigsyaml.Unmarshal(doc, &tm); err != nil {
		return "", nil, err
	}
	newObj := typedKinds[tm.APIVersion+"/"+tm.Kind]
	if newObj == nil {
		return "", nil, fmt.Errorf("apiVersion %q kind %q: not a kind this test knows", tm.APIVersion, tm.Kind)
	}
	obj := newObj()
	if err := sigsyaml.UnmarshalStrict(doc, obj); err != nil {
		return "", nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	name := obj.(metav1.Object).GetName()
	if name == "" {
		return "", nil, fmt.Errorf("%s without metadata.name", tm.Kind)
	}
	return tm.Kind + "/" + name, obj, nil
}

// The decoder is strict: the test would catch a typo.
func TestStrictDecodingRefusesAMisspeltField(t *testing.T) {
	data, err := os.ReadFile("kubernetes/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, typo := range []struct{ from, to string }{
		{"terminationGracePeriodSeconds:", "terminationGracePeriodSecond:"},
		{"readinessProbe:", "readynessProbe:"},
		{"periodSeconds: 2", "periodSeconds: two"},
	} {
		bad := bytes.Replace(data, []byte(typo.from), []byte(typo.to), 1)
		if bytes.Equal(bad, data) {
			t.Fatalf("deployment.yaml has no %q", typo.from)
		}
		if _, _, err := decodeStrict(bad); err == nil {
			t.Errorf("%q for %q decoded without error", typo.to, typo.from)
		}
	}
	if _, _, err := decodeStrict(data); err != nil {
		t.Fatalf("deployment.yaml: %v", err)
	}
}

// The fleet's moving parts agree: the HPA scales the Deployment on the CPU it requests,
// the PDB leaves replicas serving, and the pod's grace period covers the drain that the
// ConfigMap's configuration runs.
func TestManifestsScaleAndDrain(t *testing.T) {
	m := typedManifests(t)
	dep, _ := m["Deployment/bidsieve"].(*appsv1.Deployment)
	hpa, _ := m["HorizontalPodAutoscaler/bidsieve"].(*autoscalingv2.HorizontalPodAutoscaler)
	pdb, _ := m["PodDisruptionBudget/bidsieve"].(*policyv1.PodDisruptionBudget)
	cm, _ := m["ConfigMap/bidsieve"].(*corev1.ConfigMap)
	if dep == nil || hpa == nil || pdb == nil || cm == nil {
		t.Fatalf("want Deployment, HorizontalPodAutoscaler, PodDisruptionBudget and ConfigMap bidsieve; have %v", mapKeys(m))
	}
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want the gateway alone", len(pod.Containers))
	}
	ctr := pod.Containers[0]

	// Resources: requests and limits for CPU and memory; the HPA measures against requests.
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := ctr.Resources.Requests[r]
		lim, okLim := ctr.Resources.Limits[r]
		if !okReq || !okLim {
			t.Errorf("container %s: %s request and limit both required (requests %v, limits %v)", ctr.Name, r, ctr.Resources.Requests, ctr.Resources.Limits)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s request %s above its limit %s", r, req.String(), lim.String())
		}
	}
	if cpu := ctr.Resources.Requests[corev1.ResourceCPU]; cpu.Cmp(resource.MustParse("500m")) < 0 {
		t.Errorf("cpu request %s: a replica needs at least half a core to run auctions", cpu.String())
	}

	// HPA: aims at this Deployment, on CPU utilization, never below what the PDB keeps.
	ref := hpa.Spec.ScaleTargetRef
	if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != dep.Name {
		t.Errorf("the HPA scales %s %s/%s, not Deployment %s", ref.APIVersion, ref.Kind, ref.Name, dep.Name)
	}
	if dep.Spec.Replicas != nil {
		t.Errorf("the Deployment sets replicas: %d; with an HPA it must not (each apply would reset the count)", *dep.Spec.Replicas)
	}
	minR := int32(1)
	if hpa.Spec.MinReplicas != nil {
		minR = *hpa.Spec.MinReplicas
	}
	if minR < 2 || hpa.Spec.MaxReplicas < minR {
		t.Errorf("HPA replicas %d..%d: a fleet keeps at least 2", minR, hpa.Spec.MaxReplicas)
	}
	var cpuTarget bool
	for _, ms := range hpa.Spec.Metrics {
		if ms.Type == autoscalingv2.ResourceMetricSourceType && ms.Resource != nil && ms.Resource.Name == corev1.ResourceCPU &&
			ms.Resource.Target.Type == autoscalingv2.UtilizationMetricType && ms.Resource.Target.AverageUtilization != nil {
			u := *ms.Resource.Target.AverageUtilization
			cpuTarget = u > 0 && u <= 90
		}
	}
	if !cpuTarget {
		t.Error("the HPA should scale on CPU utilization (a target in (0, 90]%)")
	}

	// PDB: selects the pods, and a voluntary disruption leaves at least one serving.
	if pdb.Spec.Selector == nil || pdb.Spec.Selector.MatchLabels["app.kubernetes.io/name"] != dep.Spec.Template.Labels["app.kubernetes.io/name"] {
		t.Error("the PodDisruptionBudget does not select the Deployment's pods")
	}
	switch {
	case pdb.Spec.MaxUnavailable != nil:
		if v := pdb.Spec.MaxUnavailable.IntValue(); v < 1 || int32(v) >= minR {
			t.Errorf("PDB maxUnavailable %v with %d replicas at least: a drain would stop all, or none", pdb.Spec.MaxUnavailable, minR)
		}
	case pdb.Spec.MinAvailable != nil:
		if v := pdb.Spec.MinAvailable.IntValue(); v < 1 || int32(v) >= minR {
			t.Errorf("PDB minAvailable %v with %d replicas at least: nodes could never drain, or all replicas could go", pdb.Spec.MinAvailable, minR)
		}
	default:
		t.Error("the PodDisruptionBudget sets neither minAvailable nor maxUnavailable")
	}

	// The drain: the grace period covers server.drain_timeout plus any preStop pause, and
	// is not so long that a stuck replica lingers.
	c, err := config.Parse([]byte(cm.Data["bidsieve.yaml"]))
	if err != nil {
		t.Fatalf("ConfigMap configuration: %v", err)
	}
	if c.Server.DrainDelay <= 0 {
		t.Error("server.drain_delay is 0: a replica's listener would close before the endpoints drop it")
	}
	var preStop time.Duration
	if ctr.Lifecycle != nil && ctr.Lifecycle.PreStop != nil && ctr.Lifecycle.PreStop.Sleep != nil {
		preStop = time.Duration(ctr.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	if pod.TerminationGracePeriodSeconds == nil {
		t.Fatal("terminationGracePeriodSeconds unset (the default 30s may not match the drain)")
	}
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	need := preStop + c.Server.DrainTimeout
	if grace < need || grace > need+15*time.Second {
		t.Errorf("terminationGracePeriodSeconds %v, want the drain's %v (preStop %v + server.drain_timeout %v) plus at most 15s",
			grace, need, preStop, c.Server.DrainTimeout)
	}

	// Tracing: the replica's name reaches the resource from the pod's name.
	var replicaEnv bool
	for _, e := range ctr.Env {
		if e.Name == "BIDSIEVE_TRACING_REPLICA" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name" {
			replicaEnv = true
		}
	}
	if c.Tracing.Exporter == config.TracingOTLP && !replicaEnv {
		t.Error("traces go to a collector but BIDSIEVE_TRACING_REPLICA does not come from metadata.name: every replica would name itself alike")
	}
}

func mapKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
