package aws

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dxwatch/dxwatch/probes"
)

// MACsec on a dedicated connection, as the Direct Connect API reference's
// Connection type has it
// (https://docs.aws.amazon.com/directconnect/latest/APIReference/API_Connection.html):
// macSecCapable, encryptionMode (no_encrypt, should_encrypt, must_encrypt),
// portEncryptionStatus ("Encryption Up": an active Connection Key Name;
// "Encryption Down") and macSecKeys[].state (associating, associated,
// disassociating, disassociated; API type MacSecKey). With must_encrypt
// "the connection goes down when the encryption is down" (User Guide,
// "Update a connection",
// https://docs.aws.amazon.com/directconnect/latest/UserGuide/updateconnection.html):
// no traffic crosses it. CloudWatch's ConnectionEncryptionState (by
// {ConnectionId}; 1 up, 0 down) is shown beside, minutes late.
const (
	encryptNo     = "no_encrypt"
	encryptShould = "should_encrypt"
	encryptMust   = "must_encrypt"
	// portEncryptionUp is portEncryptionStatus while encrypting.
	portEncryptionUp = "Encryption Up"
)

// encrypting says whether a connection's port encrypts now.
func encrypting(c *connData) bool {
	return strings.EqualFold(deref(c.PortEncryptionStatus), portEncryptionUp)
}

// macsec adds aws.connection.<link>.macsec: whether the connection encrypts
// as its encryption mode requires. It fails only for a must_encrypt
// connection that is not encrypting (AWS carries no traffic over it then);
// a should_encrypt one that is not encrypting carries traffic in clear and
// warns.
func (c *checker) macsec(lv linkView) {
	link := lv.link.Name
	name := "aws.connection." + link + ".macsec"
	order := probes.OrderConnection + 15
	if lv.conn == nil {
		c.add(name, order, link, probes.Skip, "", "the connection of %s is not known (not found or not read): see aws.connection.%s.state", link, link)
		return
	}
	conn := lv.conn
	id := deref(conn.ConnectionId)
	mode := deref(conn.EncryptionMode)
	if conn.MacSecCapable == nil || !*conn.MacSecCapable {
		what := "a dedicated connection"
		if p := deref(conn.PartnerName); p != "" {
			what = "a hosted connection via " + p + " (MACsec on it is the partner's interconnect's)"
		}
		c.add(name, order, link, probes.Pass, "", "%s (%s, %s) is not MACsec-capable: its encryption mode requires nothing", id, what, orDefault(deref(conn.Bandwidth), "bandwidth unknown"))
		return
	}
	if mode == "" || mode == encryptNo {
		c.add(name, order, link, probes.Pass, "", "%s is MACsec-capable, encryption mode %s: MACsec is not in use, traffic crosses the port unencrypted", id, orDefault(mode, encryptNo+" (not set)"))
		return
	}
	status := orDefault(deref(conn.PortEncryptionStatus), "not reported")
	keys := c.macsecKeys(conn)
	reason := fmt.Sprintf("%s encryption mode %s, port encryption status %s, %s%s", id, mode, status, keys, c.cwEncryption(id))
	if encrypting(conn) {
		c.add(name, order, link, probes.Pass, "", "%s", reason)
		return
	}
	fix := "check MACsec on your router's port: its CKN and CAK must be those of the key associated with " + id + " (the secret in AWS Secrets Manager), with a cipher suite AWS supports; show the MKA session on the router"
	if !hasAssociatedKey(conn) {
		fix = "associate a MACsec key with the connection (aws directconnect associate-mac-sec-key --connection-id " + id + " with a CKN/CAK pair or a secret ARN) and configure the same CKN/CAK on your router's port"
	}
	if mode == encryptMust {
		c.add(name, order, link, probes.Fail,
			fix+"; to carry traffic unencrypted meanwhile, set the encryption mode to should_encrypt (aws directconnect update-connection --connection-id "+id+" --encryption-mode should_encrypt)",
			"%s: with must_encrypt AWS takes the connection down while encryption is down, so no traffic crosses it", reason)
		return
	}
	c.add(name, order, link, probes.Warn, fix,
		"%s: with %s the connection carries traffic unencrypted while encryption is down", reason, mode)
}

// macsecKeys says how many MACsec keys the connection has in which state.
// CKNs and secret ARNs stay out of the text.
func (c *checker) macsecKeys(conn *connData) string {
	if len(conn.MacSecKeys) == 0 {
		return "no MACsec key"
	}
	n := map[string]int{}
	for _, k := range conn.MacSecKeys {
		n[orDefault(deref(k.State), "state unknown")]++
	}
	states := make([]string, 0, len(n))
	for s, k := range n {
		states = append(states, fmt.Sprintf("%d %s", k, s))
	}
	sort.Strings(states)
	return "MACsec keys: " + strings.Join(states, ", ")
}

func hasAssociatedKey(conn *connData) bool {
	for _, k := range conn.MacSecKeys {
		if deref(k.State) == "associated" {
			return true
		}
	}
	return false
}

// cwEncryption describes CloudWatch's newest ConnectionEncryptionState of
// a connection, when there is a fresh one.
func (c *checker) cwEncryption(id string) string {
	if c.cfg.CloudWatch.Disabled || c.s.cw == nil {
		return ""
	}
	at, v, stale := c.latest(id, "ConnectionEncryptionState")
	if stale != "" {
		return ""
	}
	word := "up"
	if v < 1 {
		word = "down"
	}
	return fmt.Sprintf("; CloudWatch's ConnectionEncryptionState %.0f (%s) %s", v, word, c.ago(at))
}
