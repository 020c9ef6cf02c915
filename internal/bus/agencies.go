package bus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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
// use: <prefix>agency.<OrganId>-. It ends with "-", which an OrganId never
// holds ([0-9A-Za-z.]), because a sub-unit's id is its parent's plus
// ".NN": with a final "." the parent 000.00.00.G22 would be granted the
// groups of 000.00.00.G22.01.
func AgencyGroupPrefix(prefix, organID string) string { return prefix + "agency." + organID + "-" }

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

// agencyOwned selects the ACLs ProvisionAgencies manages: every ALLOW ACL
// of any principal but the hub's own on an inbox topic or an agency group,
// literal or prefixed, from any host, for any operation. DENY ACLs only
// take access away, so they are left to whoever added them.
func agencyOwned(prefix, hubUser string) func(ACL) bool {
	return func(a ACL) bool {
		if a.Deny || (hubUser != "" && a.Principal == Principal(hubUser)) {
			return false
		}
		switch a.Resource {
		case ResourceTopic:
			return strings.HasPrefix(a.Name, prefix+"inbox.")
		case ResourceGroup:
			return strings.HasPrefix(a.Name, prefix+"agency.")
		}
		return false
	}
}

// hubProvisioned reports whether acls, every ACL a principal holds, are
// those AgencyACLs gives (or part of them): ALLOW Read or Describe from
// any host, on the literal inbox topic and the prefixed groups of one
// OrganId, the group ACLs among them. Only such a principal's SCRAM
// credentials are deleted when it is no longer configured: a person's
// user with an ACL on an inbox topic besides others, or without the
// group prefix ACL, keeps its password. The group prefix ending in "."
// is that of hubs before the "-" one, so their principals are still
// recognised.
func hubProvisioned(prefix string, acls []ACL) bool {
	id, group := "", false
	for _, a := range acls {
		if a.Deny || a.Host != "" || (a.Operation != OpRead && a.Operation != OpDescribe) {
			return false
		}
		var rest string
		switch {
		case a.Resource == ResourceTopic && !a.Prefixed && strings.HasPrefix(a.Name, prefix+"inbox."):
			rest = strings.TrimPrefix(a.Name, prefix+"inbox.")
		case a.Resource == ResourceGroup && a.Prefixed && strings.HasPrefix(a.Name, prefix+"agency."):
			rest = strings.TrimPrefix(a.Name, prefix+"agency.")
			var ok bool
			if rest, ok = strings.CutSuffix(rest, "-"); !ok {
				if rest, ok = strings.CutSuffix(rest, "."); !ok {
					return false
				}
			}
			group = true
		default:
			return false
		}
		if rest == "" || (id != "" && rest != id) {
			return false
		}
		id = rest
	}
	return group
}

// ProvisionAgencies makes the cluster's agency principals those of users:
// each gets SCRAM credentials with its password and AgencyACLs. Every
// other ACL agencyOwned selects is deleted. A principal that is no longer
// listed loses its SCRAM credentials too, but only when hubProvisioned
// says the hub made it: removing an agency's Kafka user from the
// configuration revokes it at the next start, and a person's user is
// never locked out. Credentials go before ACLs, so a hub stopped half way
// still sees the ACLs, and so the principal, at its next start. hubUser,
// the hub's own SASL user, is never touched. It is idempotent; the hub
// calls it at start. revoked are the users whose credentials it deleted.
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
	have, err := a.ACLs(ctx)
	if err != nil {
		return nil, err
	}
	owned := agencyOwned(prefix, hubUser)
	all := map[string][]ACL{}
	stale := map[string]bool{}
	var add, del []ACL
	for _, h := range have {
		all[h.Principal] = append(all[h.Principal], h)
		if owned(h) && !slices.Contains(want, h) {
			del = append(del, h)
			if _, ok := seen[strings.TrimPrefix(h.Principal, "User:")]; !ok {
				stale[h.Principal] = true
			}
		}
	}
	for _, w := range want {
		if !slices.Contains(have, w) {
			add = append(add, w)
		}
	}
	for _, p := range slices.Sorted(maps.Keys(stale)) {
		user, ok := strings.CutPrefix(p, "User:")
		if !ok || user == hubUser || !hubProvisioned(prefix, all[p]) {
			continue
		}
		if err := a.DeleteSCRAMUser(ctx, user); err != nil {
			return nil, err
		}
		revoked = append(revoked, user)
	}
	if err := a.CreateACLs(ctx, add...); err != nil {
		return nil, err
	}
	if err := a.DeleteACLs(ctx, del...); err != nil {
		return nil, err
	}
	return revoked, nil
}

// RevokeAgencyUser deletes user's SCRAM credentials and every ACL of it on
// inbox topics and agency groups, at once, without waiting for a hub to
// restart with the user removed from its configuration. The credentials
// go first, as in ProvisionAgencies.
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
	if err := a.DeleteSCRAMUser(ctx, user); err != nil {
		return err
	}
	return a.DeleteACLs(ctx, del...)
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
