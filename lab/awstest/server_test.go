package awstest

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func post(t *testing.T, url, target, auth, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	if auth != "" {
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+auth+", SignedHeaders=host, Signature=0")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServerRefusesBadRequests(t *testing.T) {
	s, url := Start(t, LabScenario())
	cred := LabAccessKey + "/20260201/us-east-1/directconnect/aws4_request"
	tests := []struct {
		name, target, auth, body, code string
	}{
		{"unsigned", "OvertureService.DescribeConnections", "", "{}", "MissingAuthenticationToken"},
		{"unknown key", "OvertureService.DescribeConnections", "AKIAUNKNOWN/20260201/us-east-1/directconnect/aws4_request", "{}", "UnrecognizedClientException"},
		{"unknown member", "OvertureService.DescribeConnections", cred, `{"connectionName":"x"}`, "SerializationException"},
		{"bad token", "OvertureService.DescribeConnections", cred, `{"nextToken":"garbage"}`, "InvalidNextToken"},
		{"unknown operation", "OvertureService.CreateConnection", cred, `{}`, "UnknownOperationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := post(t, url, tt.target, tt.auth, tt.body)
			var e struct {
				Type string `json:"__type"`
			}
			json.Unmarshal([]byte(body), &e)
			if st != 400 || e.Type != tt.code {
				t.Errorf("%d %s, want 400 %s", st, body, tt.code)
			}
		})
	}
	if got := s.Calls()["directconnect:CreateConnection"]; got != 1 {
		t.Errorf("calls not recorded: %v", s.Calls())
	}
}

func TestScenarioFiles(t *testing.T) {
	dir := t.TempDir()
	y, err := LabScenario().YAML()
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(LabScenario())
	for name, b := range map[string][]byte{"lab.yaml": y, "lab.json": j} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, b, 0o644)
		sc, err := LoadScenario(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if sc.VIF(LabVIF2).Vlan != 102 || sc.Routes[0].RouteInstalledAt == nil {
			t.Errorf("%s: %+v", name, sc.VIF(LabVIF2))
		}
	}
	for _, bad := range []string{"accounts: []\n", "accounts: [{accountId: '1', accessKeyId: k}]\nconnectionz: []\n", "{"} {
		if _, err := ParseScenario([]byte(bad), false); err == nil {
			t.Errorf("ParseScenario(%q) accepted it", bad)
		}
	}
}
