package awstest

import (
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

const stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"

type stsMeta struct {
	RequestID string `xml:"RequestId"`
}

func (s *Server) sts(c call) ([]byte, *apiError) {
	meta := stsMeta{RequestID: fmt.Sprintf("fake-%d", time.Now().UnixNano())}
	switch c.op {
	case "GetCallerIdentity":
		return marshalXML(struct {
			XMLName xml.Name `xml:"GetCallerIdentityResponse"`
			NS      string   `xml:"xmlns,attr"`
			Result  struct {
				Arn     string `xml:"Arn"`
				UserID  string `xml:"UserId"`
				Account string `xml:"Account"`
			} `xml:"GetCallerIdentityResult"`
			Meta stsMeta `xml:"ResponseMetadata"`
		}{NS: stsNS, Result: struct {
			Arn     string `xml:"Arn"`
			UserID  string `xml:"UserId"`
			Account string `xml:"Account"`
		}{c.arn, "AIDAFAKE" + c.account, c.account}, Meta: meta})
	case "AssumeRole":
		arn, ext, name := first(c.form["RoleArn"]), first(c.form["ExternalId"]), first(c.form["RoleSessionName"])
		var role *Role
		for i := range s.sc.Roles {
			if s.sc.Roles[i].ARN == arn {
				role = &s.sc.Roles[i]
			}
		}
		denied := &apiError{status: 403, code: "AccessDenied",
			msg: fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", c.arn, arn)}
		if role == nil || role.ExternalID != ext || name == "" {
			return nil, denied
		}
		s.nextID++
		key := fmt.Sprintf("ASIAFAKE%012d", s.nextID)
		roleName := arn[strings.LastIndex(arn, "/")+1:]
		sessArn := fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", role.AccountID, roleName, name)
		s.sessions[key] = session{account: role.AccountID, arn: sessArn}
		type creds struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string `xml:"SecretAccessKey"`
			SessionToken    string `xml:"SessionToken"`
			Expiration      string `xml:"Expiration"`
		}
		type user struct {
			Arn           string `xml:"Arn"`
			AssumedRoleID string `xml:"AssumedRoleId"`
		}
		return marshalXML(struct {
			XMLName xml.Name `xml:"AssumeRoleResponse"`
			NS      string   `xml:"xmlns,attr"`
			Result  struct {
				Credentials     creds `xml:"Credentials"`
				AssumedRoleUser user  `xml:"AssumedRoleUser"`
			} `xml:"AssumeRoleResult"`
			Meta stsMeta `xml:"ResponseMetadata"`
		}{NS: stsNS, Result: struct {
			Credentials     creds `xml:"Credentials"`
			AssumedRoleUser user  `xml:"AssumedRoleUser"`
		}{
			creds{key, "fake-secret-" + key, "fake-session-token-" + key, s.now().Add(time.Hour).UTC().Format(time.RFC3339)},
			user{sessArn, "AROAFAKE:" + name},
		}, Meta: meta})
	}
	return nil, &apiError{status: 400, code: "InvalidAction", msg: "the fake does not serve " + c.op}
}
