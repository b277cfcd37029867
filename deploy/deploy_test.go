package deploy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/bidsieve/bidsieve/config"
)

type obj = map[string]any

// manifestFile is one file under kubernetes/ and what it holds.
type manifestFile struct {
	name string
	data []byte
}

// manifestFiles reads the files under kubernetes/ in name order, failing t if there is
// none.
func manifestFiles(t *testing.T) []manifestFile {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	out := make([]manifestFile, 0, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, manifestFile{name: f, data: data})
	}
	return out
}

// manifests reads every YAML document under kubernetes/, keyed by "Kind/name".
func manifests(t *testing.T) map[string]obj {
	t.Helper()
	out := map[string]obj{}
	for _, mf := range manifestFiles(t) {
		f := mf.name
		dec := yaml.NewDecoder(bytes.NewReader(mf.data))
		for i := 0; ; i++ {
			var doc obj
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s document %d: %v", f, i, err)
			}
			if doc == nil {
				continue
			}
			kind, _ := doc["kind"].(string)
			name, _ := get(doc, "metadata", "name").(string)
			if doc["apiVersion"] == nil || kind == "" || name == "" {
				t.Fatalf("%s document %d: apiVersion, kind and metadata.name are required", f, i)
			}
			key := kind + "/" + name
			if _, dup := out[key]; dup {
				t.Fatalf("%s: %s defined twice", f, key)
			}
			out[key] = doc
		}
	}
	return out
}

// get walks nested maps (string keys) and lists (int keys).
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(obj)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func must[T any](t *testing.T, v any, what string) T {
	t.Helper()
	x, ok := v.(T)
	if !ok {
		t.Fatalf("%s: got %T (%v)", what, v, v)
	}
	return x
}

func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	var n int
	for _, c := range p {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestManifestsAgreeWithTheConfiguration is what `kubectl apply` plus a rollout would
// catch first: a configuration the binary refuses, probes on the wrong port or path, a
// config file mounted somewhere the command does not read, a Service aiming at no port.
func TestManifestsAgreeWithTheConfiguration(t *testing.T) {
	m := manifests(t)
	cm := m["ConfigMap/bidsieve"]
	dep := m["Deployment/bidsieve"]
	sec := m["Secret/bidsieve-store"]
	if cm == nil || dep == nil || sec == nil {
		t.Fatalf("want ConfigMap/bidsieve, Deployment/bidsieve and Secret/bidsieve-store; have %v", keys(m))
	}

	pod := get(dep, "spec", "template", "spec")
	ctr := get(pod, "containers", 0)
	if get(dep, "spec", "selector", "matchLabels", "app.kubernetes.io/name") != get(dep, "spec", "template", "metadata", "labels", "app.kubernetes.io/name") {
		t.Error("the Deployment's selector does not match its pod labels")
	}

	// The command reads the file that the ConfigMap volume mounts.
	args := must[[]any](t, get(ctr, "args"), "container args")
	if len(args) != 3 || args[0] != "serve" || args[1] != "--config" {
		t.Fatalf("container args = %v, want serve --config FILE", args)
	}
	cfgPath := must[string](t, args[2], "config path")
	mounts := map[string]string{} // volume name -> mount path
	for _, vm := range must[[]any](t, get(ctr, "volumeMounts"), "volumeMounts") {
		mounts[must[string](t, get(vm, "name"), "mount name")] = must[string](t, get(vm, "mountPath"), "mountPath")
	}
	volumes := map[string]any{}
	for _, v := range must[[]any](t, get(pod, "volumes"), "volumes") {
		volumes[must[string](t, get(v, "name"), "volume name")] = v
	}
	var cfgVolume string
	for name, v := range volumes {
		if get(v, "configMap", "name") == "bidsieve" {
			cfgVolume = name
		}
	}
	if cfgVolume == "" || filepath.Dir(cfgPath) != mounts[cfgVolume] {
		t.Fatalf("config %s is not inside the ConfigMap's mount %q", cfgPath, mounts[cfgVolume])
	}
	text := must[string](t, get(cm, "data", filepath.Base(cfgPath)), "ConfigMap key "+filepath.Base(cfgPath))

	// The environment the pod gets, with the Secret's values.
	var environ []string
	for _, e := range must[[]any](t, get(ctr, "env"), "env") {
		name := must[string](t, get(e, "name"), "env name")
		if ref := get(e, "valueFrom", "secretKeyRef"); ref != nil {
			if get(ref, "name") != "bidsieve-store" {
				t.Fatalf("env %s reads an unknown Secret %v", name, get(ref, "name"))
			}
			val := must[string](t, get(sec, "stringData", must[string](t, get(ref, "key"), "secret key")), "secret value")
			environ = append(environ, name+"="+val)
		}
	}

	// bidsieve itself accepts the configuration, environment included.
	c, err := config.Parse([]byte(text))
	if err != nil {
		t.Fatalf("ConfigMap configuration: %v", err)
	}
	if err := c.ApplyEnv(environ); err != nil {
		t.Fatalf("pod environment: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("ConfigMap configuration: %v", err)
	}
	if c.Store.Postgres == "" || c.Store.SQLite != "" {
		t.Errorf("a fleet shares its settings in PostgreSQL; store = %+v", c.Store)
	}

	// Ports and probes.
	ports := map[string]int{}
	for _, p := range must[[]any](t, get(ctr, "ports"), "ports") {
		ports[must[string](t, get(p, "name"), "port name")] = must[int](t, get(p, "containerPort"), "containerPort")
	}
	if ports["auction"] != port(t, c.Listen) {
		t.Errorf("auction port %d, config listens on %s", ports["auction"], c.Listen)
	}
	if ports["admin"] != port(t, c.AdminListen) {
		t.Errorf("admin port %d, config admin_listen %s", ports["admin"], c.AdminListen)
	}
	for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"} {
		if get(ctr, probe, "httpGet", "path") != path || get(ctr, probe, "httpGet", "port") != "auction" {
			t.Errorf("%s = %v, want GET %s on the auction port", probe, get(ctr, probe), path)
		}
	}
	if a := get(dep, "spec", "template", "metadata", "annotations", "prometheus.io/port"); a != "8080" || ports["auction"] != 8080 {
		t.Errorf("metrics are scraped on port %v; /metrics is served on %d", a, ports["auction"])
	}

	// The model and the bid log live on the volumes meant for them, and a read-only root
	// file system leaves nothing else writable.
	if !strings.HasPrefix(c.Model.Path, mounts["models"]+"/") || get(volumes["models"], "persistentVolumeClaim", "claimName") == nil {
		t.Errorf("model %s is not on the shared models volume (%s)", c.Model.Path, mounts["models"])
	}
	if !strings.HasPrefix(c.BidLog.Dir, mounts["bidlog"]+"/") {
		t.Errorf("bid log %s is not on the bidlog volume (%s)", c.BidLog.Dir, mounts["bidlog"])
	}
	if get(ctr, "securityContext", "readOnlyRootFilesystem") != true {
		t.Error("the root file system should be read-only")
	}

	// Services aim at ports the container has.
	for key, doc := range m {
		if !strings.HasPrefix(key, "Service/") {
			continue
		}
		if get(doc, "spec", "selector", "app.kubernetes.io/name") != "bidsieve" {
			t.Errorf("%s selects no bidsieve pod", key)
		}
		for _, p := range must[[]any](t, get(doc, "spec", "ports"), key+" ports") {
			if _, ok := ports[must[string](t, get(p, "targetPort"), key+" targetPort")]; !ok {
				t.Errorf("%s targets port %v, which the container does not have", key, get(p, "targetPort"))
			}
		}
	}
	if get(m["PersistentVolumeClaim/bidsieve-models"], "metadata", "name") != get(volumes["models"], "persistentVolumeClaim", "claimName") {
		t.Error("the models volume claims a PersistentVolumeClaim that is not defined")
	}
}

// TestDockerfileBuildsTheBinaryTheDeploymentRuns checks the Dockerfile without an engine.
func TestDockerfileBuildsTheBinaryTheDeploymentRuns(t *testing.T) {
	data, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	for _, want := range []string{
		"CGO_ENABLED=0 go build", "./cmd/bidsieve",
		`ENTRYPOINT ["/usr/local/bin/bidsieve"]`,
		`CMD ["serve", "--config", "/etc/bidsieve/bidsieve.yaml"]`,
		"USER nonroot",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	// The build image's Go must be the module's.
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if goLine == nil || !strings.Contains(df, "FROM golang:"+string(goLine[1])) {
		t.Errorf("the build image should be golang:%s", goLine[1])
	}
	// The Deployment runs the CMD's command line.
	dep := manifests(t)["Deployment/bidsieve"]
	args := get(dep, "spec", "template", "spec", "containers", 0, "args")
	if got := strings.Join(toStrings(args), " "); got != "serve --config /etc/bidsieve/bidsieve.yaml" {
		t.Errorf("Deployment args %q differ from the Dockerfile's CMD", got)
	}
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

func keys(m map[string]obj) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
