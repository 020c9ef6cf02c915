package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Agencies that read their inbox topic directly get a Kafka principal of
// their own. The hub names the topics (<prefix>inbox.<OrganId>, see
// internal/hub), so the names are built the same way here.

// AgencyUser is an agency's Kafka principal.
type AgencyUser struct {
	OrganID  string
	User     string
	Password string
}

// AgencyInbox is the inbox topic of an agency: <prefix>inbox.<OrganId>.
func AgencyInbox(prefix, organID string) string { return prefix + "inbox." + organID }

// AgencyGroupPrefix is the prefix of the consumer groups an agency may
// use: <prefix>agency.<OrganId>. — the final dot keeps G01 out of G010's
// groups.
func AgencyGroupPrefix(prefix, organID string) string { return prefix + "agency." + organID + "." }

// AgencyACLs are the ACLs of an agency's principal: READ and DESCRIBE on
// its own inbox topic and on the groups of its own prefix, nothing else.
func AgencyACLs(prefix string, a AgencyUser) []ACL {
	p := Principal(a.User)
	inbox, groups := AgencyInbox(prefix, a.OrganID), AgencyGroupPrefix(prefix, a.OrganID)
	return []ACL{
		{Principal: p, Resource: ResourceTopic, Name: inbox, Operation: OpRead},
		{Principal: p, Resource: ResourceTopic, Name: inbox, Operation: OpDescribe},
		{Principal: p, Resource: ResourceGroup, Name: groups, Prefixed: true, Operation: OpRead},
		{Principal: p, Resource: ResourceGroup, Name: groups, Prefixed: true, Operation: OpDescribe},
	}
}

// ErrAgencyUser reports an agency principal that cannot be provisioned.
var ErrAgencyUser = errors.New("bus: agency Kafka user")

// agencyOwned selects the ACLs ProvisionAgencies manages: any principal's
// ACLs on an inbox topic or an agency group prefix, except those of the
// hub's own user.
func agencyOwned(prefix, hubUser string) func(ACL) bool {
	return func(a ACL) bool {
		if hubUser != "" && a.Principal == Principal(hubUser) {
			return false
		}
		switch a.Resource {
		case ResourceTopic:
			return !a.Prefixed && strings.HasPrefix(a.Name, prefix+"inbox.")
		case ResourceGroup:
			return strings.HasPrefix(a.Name, prefix+"agency.")
		}
		return false
	}
}

// ProvisionAgencies makes the cluster's agency principals those of users:
// each gets SCRAM credentials with its password and AgencyACLs. ACLs on
// inbox topics and agency groups that no user of the list should have are
// deleted, and so are the SCRAM credentials of principals that had some
// and are no longer listed: removing an agency's Kafka user from the
// configuration revokes it at the next start. hubUser, the hub's own SASL
// user, is never touched. It is idempotent; the hub calls it at start.
func (a *Admin) ProvisionAgencies(ctx context.Context, prefix, hubUser string, users []AgencyUser) (revoked []string, err error) {
	seen := map[string]string{}
	var want []ACL
	for _, u := range users {
		if u.User == "" || u.Password == "" || u.OrganID == "" {
			return nil, fmt.Errorf("%w of %s: needs a user and a password", ErrAgencyUser, u.OrganID)
		}
		if u.User == hubUser {
			return nil, fmt.Errorf("%w of %s: %q is the hub's own user", ErrAgencyUser, u.OrganID, u.User)
		}
		if other, dup := seen[u.User]; dup {
			return nil, fmt.Errorf("%w %q: given to both %s and %s", ErrAgencyUser, u.User, other, u.OrganID)
		}
		seen[u.User] = u.OrganID
		want = append(want, AgencyACLs(prefix, u)...)
	}
	for _, u := range users {
		if err := a.SetSCRAMUser(ctx, u.User, u.Password); err != nil {
			return nil, fmt.Errorf("agency %s: %w", u.OrganID, err)
		}
	}
	gone, err := a.ReconcileACLs(ctx, agencyOwned(prefix, hubUser), want)
	if err != nil {
		return nil, err
	}
	for _, p := range gone {
		user := strings.TrimPrefix(p, "User:")
		if err := a.DeleteSCRAMUser(ctx, user); err != nil {
			return nil, err
		}
		revoked = append(revoked, user)
	}
	return revoked, nil
}

// RevokeAgencyUser deletes every ACL of user on inbox topics and agency
// groups and its SCRAM credentials, at once, without waiting for a hub to
// restart with the user removed from its configuration.
func (a *Admin) RevokeAgencyUser(ctx context.Context, prefix, user string) error {
	have, err := a.ACLs(ctx)
	if err != nil {
		return err
	}
	owned := agencyOwned(prefix, "")
	var del []ACL
	for _, h := range have {
		if h.Principal == Principal(user) && owned(h) {
			del = append(del, h)
		}
	}
	if err := a.DeleteACLs(ctx, del...); err != nil {
		return err
	}
	return a.DeleteSCRAMUser(ctx, user)
}

// HubACLs are the ACLs a hub whose SASL user is not a superuser needs,
// with topic prefix prefix: create, write, read and describe its topics,
// read its consumer groups, and, when it provisions agency principals,
// alter and describe the cluster (ACLs and SCRAM credentials). Describe
// is implied by Read and Write, and listed for clarity.
func HubACLs(prefix, user string, provisioning bool) []ACL {
	p := Principal(user)
	acls := []ACL{
		{Principal: p, Resource: ResourceTopic, Name: prefix, Prefixed: true, Operation: OpCreate},
		{Principal: p, Resource: ResourceTopic, Name: prefix, Prefixed: true, Operation: OpWrite},
		{Principal: p, Resource: ResourceTopic, Name: prefix, Prefixed: true, Operation: OpRead},
		{Principal: p, Resource: ResourceTopic, Name: prefix, Prefixed: true, Operation: OpDescribe},
		{Principal: p, Resource: ResourceTopic, Name: prefix, Prefixed: true, Operation: OpDescribeConfigs},
		{Principal: p, Resource: ResourceGroup, Name: prefix, Prefixed: true, Operation: OpRead},
		{Principal: p, Resource: ResourceGroup, Name: prefix, Prefixed: true, Operation: OpDescribe},
	}
	if provisioning {
		acls = append(acls,
			ACL{Principal: p, Resource: ResourceCluster, Name: clusterResource, Operation: OpAlter},
			ACL{Principal: p, Resource: ResourceCluster, Name: clusterResource, Operation: OpDescribe})
	}
	return acls
}
