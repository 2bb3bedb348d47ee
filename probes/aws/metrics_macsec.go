package aws

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dxwatch/dxwatch/probes"
)

// The MACsec families, for MACsec-capable connections only (a connection
// that cannot encrypt has no series, not a 0).
var (
	encryptionUpDesc = prometheus.NewDesc("dxwatch_aws_connection_encryption_up",
		"MACsec on a MACsec-capable connection: 1 while its portEncryptionStatus is \"Encryption Up\" (the Direct Connect API), 0 otherwise.", []string{"connection"}, nil)
	encryptionModeDesc = prometheus.NewDesc("dxwatch_aws_connection_encryption_mode",
		"MACsec encryption mode of a MACsec-capable connection: 1 for the current mode (no_encrypt, should_encrypt, must_encrypt), 0 for the others.", []string{"connection", "mode"}, nil)
	macsecDescs = []*prometheus.Desc{encryptionUpDesc, encryptionModeDesc}
)

// collectMACsecMetrics sends the MACsec series of a snapshot.
func collectMACsecMetrics(ch chan<- prometheus.Metric, snap *snapshot) {
	for _, id := range snap.connIDs() {
		c := snap.conns[id]
		if c.MacSecCapable == nil || !*c.MacSecCapable {
			continue
		}
		ch <- prometheus.MustNewConstMetric(encryptionUpDesc, prometheus.GaugeValue, probes.BoolFloat(encrypting(c)), id)
		mode := orDefault(deref(c.EncryptionMode), encryptNo)
		for _, m := range []string{encryptNo, encryptShould, encryptMust} {
			ch <- prometheus.MustNewConstMetric(encryptionModeDesc, prometheus.GaugeValue, probes.BoolFloat(mode == m), id, m)
		}
	}
}
