package health

import "strings"

// isAWSEncryptionCheck says whether an AWS check reports a link's MACsec
// against its connection's encryption mode: aws.connection.<link>.macsec.
// It fails only for a must_encrypt connection that is not encrypting, and
// AWS takes such a connection down ("the connection goes down when the
// encryption is down", Direct Connect User Guide, "Update a connection"):
// no traffic crosses the link, whatever BGP and the echoes said last.
func isAWSEncryptionCheck(check string) bool {
	return strings.HasPrefix(check, "aws.connection.") && strings.HasSuffix(check, ".macsec")
}
