package aws

import (
	"github.com/dxwatch/dxwatch/probes/expose"
	"github.com/prometheus/client_golang/prometheus"
)

// The MACsec families, for every connection: one that is not
// MACsec-capable does not encrypt, and its mode is no_encrypt.
var (
	encryptionUpDesc = prometheus.NewDesc("dxwatch_aws_connection_encryption_up",
		"MACsec on a connection: 1 while its portEncryptionStatus is \"Encryption Up\" (the Direct Connect API), 0 otherwise.", []string{"connection"}, nil)
	encryptionModeDesc = prometheus.NewDesc("dxwatch_aws_connection_encryption_mode",
		"MACsec encryption mode of a connection: 1 for the current mode (no_encrypt, should_encrypt, must_encrypt; no_encrypt when AWS reports none), 0 for the others.", []string{"connection", "mode"}, nil)
	macsecDescs = []*prometheus.Desc{encryptionUpDesc, encryptionModeDesc}
)

// collectMACsecMetrics sends the MACsec series of a snapshot.
func collectMACsecMetrics(ch chan<- prometheus.Metric, snap *snapshot) {
	for _, id := range snap.connIDs() {
		c := snap.conns[id]
		ch <- prometheus.MustNewConstMetric(encryptionUpDesc, prometheus.GaugeValue, expose.Bool(encrypting(c)), id)
		mode := orDefault(deref(c.EncryptionMode), encryptNo)
		for _, m := range []string{encryptNo, encryptShould, encryptMust} {
			ch <- prometheus.MustNewConstMetric(encryptionModeDesc, prometheus.GaugeValue, expose.Bool(mode == m), id, m)
		}
	}
}
