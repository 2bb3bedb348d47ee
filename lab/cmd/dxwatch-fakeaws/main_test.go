package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/dxwatch/dxwatch/lab/awstest"
)

func TestLabYAMLMatchesScenario(t *testing.T) {
	sc, err := awstest.ParseScenario(labYAML, false)
	if err != nil {
		t.Fatal(err)
	}
	want := awstest.LabScenario().Clone()
	if !reflect.DeepEqual(sc.Clone(), want) {
		got, _ := sc.YAML()
		w, _ := want.YAML()
		t.Errorf("lab.yaml differs from awstest.LabScenario():\n--- lab.yaml\n%s\n--- LabScenario\n%s", got, w)
	}
}

func TestServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-listen", "127.0.0.1:0"}, pw, io.Discard); pw.Close() }()
	env := map[string]string{}
	sc := bufio.NewScanner(pr)
	for len(env) < 7 && sc.Scan() {
		k, v, _ := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "=")
		env[k] = v
	}
	go io.Copy(io.Discard, pr)
	url := env["AWS_ENDPOINT_URL_DIRECT_CONNECT"]
	if !strings.HasPrefix(url, "http://127.0.0.1:") || env["AWS_ENDPOINT_URL_EC2"] != url || env["AWS_ENDPOINT_URL_STS"] != url {
		t.Fatalf("printed env %v", env)
	}
	req, _ := http.NewRequest("POST", url, strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "OvertureService.DescribeConnections")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+env["AWS_ACCESS_KEY_ID"]+"/20260201/us-east-1/directconnect/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Connections []awstest.Connection }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Connections) != 2 {
		t.Errorf("DescribeConnections: %v %+v", err, out)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	err := run(context.Background(), []string{"-listen", "0.0.0.0:0"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("run on 0.0.0.0: %v", err)
	}
}
