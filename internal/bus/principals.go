package bus

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/segmentio/kafka-go"
)

// ResourceType is what an ACL grants access to.
type ResourceType string

// Resource types of ACLs.
const (
	ResourceTopic   ResourceType = "topic"
	ResourceGroup   ResourceType = "group"
	ResourceCluster ResourceType = "cluster"
)

// Operation is what an ACL allows, named as in kafka-acls.sh.
type Operation string

// Operations of ACLs. The hub grants only the first six; the others are
// named so that ACLs a person added can be listed and revoked.
const (
	OpRead            Operation = "Read"
	OpWrite           Operation = "Write"
	OpCreate          Operation = "Create"
	OpDescribe        Operation = "Describe"
	OpDescribeConfigs Operation = "DescribeConfigs"
	OpAlter           Operation = "Alter"
	OpAll             Operation = "All"
	OpDelete          Operation = "Delete"
	OpAlterConfigs    Operation = "AlterConfigs"
	OpClusterAction   Operation = "ClusterAction"
	OpIdempotentWrite Operation = "IdempotentWrite"
)

// Resource types a person may have given ACLs on, listed so that a
// principal holding them is seen as one the hub did not make.
const (
	ResourceTransactionalID ResourceType = "transactional-id"
	ResourceDelegationToken ResourceType = "delegation-token"
)

// clusterResource is the name of the cluster resource in ACLs.
const clusterResource = "kafka-cluster"

// ACL allows (or, with Deny, denies) a principal one operation on a
// resource. The hub makes only ALLOW ACLs from any host; ACLs lists every
// one, so that none granted by hand escapes a revocation.
type ACL struct {
	// Principal is "User:<name>".
	Principal string
	Resource  ResourceType
	// Name is the topic or group name, or the prefix when Prefixed.
	Name      string
	Prefixed  bool
	Operation Operation
	// Host is the client host the ACL applies to; empty means any ("*").
	Host string
	Deny bool
}

func (a ACL) String() string {
	pat := "literal"
	if a.Prefixed {
		pat = "prefixed"
	}
	s := fmt.Sprintf("%s %s on %s %s (%s)", a.Principal, a.Operation, a.Resource, a.Name, pat)
	if a.Host != "" {
		s += " from " + a.Host
	}
	if a.Deny {
		s += " DENY"
	}
	return s
}

// Principal is the ACL principal of a SASL user.
func Principal(user string) string { return "User:" + user }

var (
	resourceTypes = map[ResourceType]kafka.ResourceType{
		ResourceTopic: kafka.ResourceTypeTopic, ResourceGroup: kafka.ResourceTypeGroup, ResourceCluster: kafka.ResourceTypeCluster,
		ResourceTransactionalID: kafka.ResourceTypeTransactionalID, ResourceDelegationToken: kafka.ResourceTypeDelegationToken}
	operations = map[Operation]kafka.ACLOperationType{
		OpRead: kafka.ACLOperationTypeRead, OpWrite: kafka.ACLOperationTypeWrite, OpCreate: kafka.ACLOperationTypeCreate,
		OpDescribe: kafka.ACLOperationTypeDescribe, OpDescribeConfigs: kafka.ACLOperationTypeDescribeConfigs, OpAlter: kafka.ACLOperationTypeAlter,
		OpAll: kafka.ACLOperationTypeAll, OpDelete: kafka.ACLOperationTypeDelete, OpAlterConfigs: kafka.ACLOperationTypeAlterConfigs,
		OpClusterAction: kafka.ACLOperationTypeClusterAction, OpIdempotentWrite: kafka.ACLOperationTypeIdempotentWrite}
)

func (a ACL) entry() (kafka.ACLEntry, error) {
	rt, ok := resourceTypes[a.Resource]
	op, ok2 := operations[a.Operation]
	if !ok || !ok2 || !strings.HasPrefix(a.Principal, "User:") || a.Name == "" {
		return kafka.ACLEntry{}, fmt.Errorf("bus: invalid ACL %s", a)
	}
	pt := kafka.PatternTypeLiteral
	if a.Prefixed {
		pt = kafka.PatternTypePrefixed
	}
	host := a.Host
	if host == "" {
		host = "*"
	}
	perm := kafka.ACLPermissionTypeAllow
	if a.Deny {
		perm = kafka.ACLPermissionTypeDeny
	}
	return kafka.ACLEntry{ResourceType: rt, ResourceName: a.Name, ResourcePatternType: pt, Principal: a.Principal,
		Host: host, Operation: op, PermissionType: perm}, nil
}

// ACLs lists every ACL the cluster holds, ALLOW and DENY, from any host
// (needs DESCRIBE on the cluster).
func (a *Admin) ACLs(ctx context.Context) ([]ACL, error) {
	if a.closed.Load() {
		return nil, ErrClosed
	}
	resp, err := a.client.DescribeACLs(ctx, &kafka.DescribeACLsRequest{Filter: kafka.ACLFilter{
		ResourceTypeFilter: kafka.ResourceTypeAny, ResourcePatternTypeFilter: kafka.PatternTypeAny,
		Operation: kafka.ACLOperationTypeAny, PermissionType: kafka.ACLPermissionTypeAny}})
	if err == nil {
		err = resp.Error
	}
	if err != nil {
		return nil, fmt.Errorf("describe ACLs: %w", err)
	}
	var out []ACL
	for _, r := range resp.Resources {
		rt := ResourceType(r.ResourceType.String())
		for k, v := range resourceTypes {
			if v == r.ResourceType {
				rt = k
			}
		}
		for _, d := range r.ACLs {
			op := Operation(d.Operation.String())
			for k, v := range operations {
				if v == d.Operation {
					op = k
				}
			}
			host := d.Host
			if host == "*" {
				host = ""
			}
			out = append(out, ACL{Principal: d.Principal, Resource: rt, Name: r.ResourceName, Prefixed: r.PatternType == kafka.PatternTypePrefixed,
				Operation: op, Host: host, Deny: d.PermissionType == kafka.ACLPermissionTypeDeny})
		}
	}
	return out, nil
}

// CreateACLs adds acls; existing ones are left as they are (needs ALTER
// on the cluster).
func (a *Admin) CreateACLs(ctx context.Context, acls ...ACL) error {
	if a.closed.Load() {
		return ErrClosed
	}
	if len(acls) == 0 {
		return nil
	}
	req := &kafka.CreateACLsRequest{}
	for _, acl := range acls {
		e, err := acl.entry()
		if err != nil {
			return err
		}
		req.ACLs = append(req.ACLs, e)
	}
	resp, err := a.client.CreateACLs(ctx, req)
	if err != nil {
		return fmt.Errorf("create ACLs: %w", err)
	}
	var errs []error
	for i, e := range resp.Errors {
		if e != nil {
			errs = append(errs, fmt.Errorf("create ACL %s: %w", acls[min(i, len(acls)-1)], e))
		}
	}
	return errors.Join(errs...)
}

// DeleteACLs removes exactly acls (needs ALTER on the cluster).
func (a *Admin) DeleteACLs(ctx context.Context, acls ...ACL) error {
	if a.closed.Load() {
		return ErrClosed
	}
	if len(acls) == 0 {
		return nil
	}
	req := &kafka.DeleteACLsRequest{}
	for _, acl := range acls {
		e, err := acl.entry()
		if err != nil {
			return err
		}
		req.Filters = append(req.Filters, kafka.DeleteACLsFilter{ResourceTypeFilter: e.ResourceType, ResourceNameFilter: e.ResourceName,
			ResourcePatternTypeFilter: e.ResourcePatternType, PrincipalFilter: e.Principal, HostFilter: e.Host, Operation: e.Operation, PermissionType: e.PermissionType})
	}
	resp, err := a.client.DeleteACLs(ctx, req)
	if err != nil {
		return fmt.Errorf("delete ACLs: %w", err)
	}
	var errs []error
	for i, r := range resp.Results {
		if r.Error != nil {
			errs = append(errs, fmt.Errorf("delete ACL %s: %w", acls[min(i, len(acls)-1)], r.Error))
		}
	}
	return errors.Join(errs...)
}

// SetSCRAMUser creates or replaces the SCRAM-SHA-512 and SCRAM-SHA-256
// credentials of user, so it may log in with either (needs ALTER on the
// cluster). The password is salted here and never sent.
func (a *Admin) SetSCRAMUser(ctx context.Context, user, password string) error {
	if a.closed.Load() {
		return ErrClosed
	}
	if user == "" || password == "" {
		return ErrNoSASLUser
	}
	// One request per mechanism: Kafka refuses a user named twice in one.
	for _, m := range []struct {
		name string
		mech kafka.ScramMechanism
	}{{MechanismSCRAM512, kafka.ScramMechanismSha512}, {MechanismSCRAM256, kafka.ScramMechanismSha256}} {
		cred, err := scramCredential(m.name, password, scramIterations)
		if err != nil {
			return err
		}
		req := &kafka.AlterUserScramCredentialsRequest{Upsertions: []kafka.UserScramCredentialsUpsertion{{Name: user, Mechanism: m.mech,
			Iterations: cred.iterations, Salt: cred.salt, SaltedPassword: cred.salted}}}
		if err := a.alterSCRAM(ctx, user, req); err != nil {
			return err
		}
	}
	return nil
}

// DeleteSCRAMUser removes user's SCRAM credentials, so it can no longer log
// in; a user without them is no error.
func (a *Admin) DeleteSCRAMUser(ctx context.Context, user string) error {
	if a.closed.Load() {
		return ErrClosed
	}
	for _, mech := range []kafka.ScramMechanism{kafka.ScramMechanismSha512, kafka.ScramMechanismSha256} {
		// One request per mechanism: a missing one fails only its own.
		req := &kafka.AlterUserScramCredentialsRequest{Deletions: []kafka.UserScramCredentialsDeletion{{Name: user, Mechanism: mech}}}
		if err := a.alterSCRAM(ctx, user, req); err != nil && !errors.Is(err, kafka.ResourceNotFound) {
			return err
		}
	}
	return nil
}

func (a *Admin) alterSCRAM(ctx context.Context, user string, req *kafka.AlterUserScramCredentialsRequest) error {
	resp, err := a.client.AlterUserScramCredentials(ctx, req)
	if err != nil {
		return fmt.Errorf("SCRAM credentials of %s: %w", user, err)
	}
	var errs []error
	for _, r := range resp.Results {
		if r.Error != nil {
			errs = append(errs, fmt.Errorf("SCRAM credentials of %s: %w", r.User, r.Error))
		}
	}
	return errors.Join(errs...)
}
