package bus_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/lienthong/lienthong/internal/bus"
	"github.com/lienthong/lienthong/internal/testwait"
)

const (
	organA = "000.00.01.G01"
	organB = "000.00.02.G02"
	userA  = "agency-g01"
	passA  = "password-of-agency-a-0123"
	userB  = "agency-g02"
	passB  = "password-of-agency-b-0123"
	// A QĐ 20 sub-unit's id is its parent's plus ".NN".
	organParent = "000.00.00.G22"
	organChild  = "000.00.00.G22.01"
	userParent  = "agency-g22"
	passParent  = "password-of-agency-g22-01"
	userChild   = "agency-g22-01"
	passChild   = "password-of-agency-g2201-0"
)

// hubTopics are the topics a hub makes, with one message each.
func hubTopics(tb testing.TB, cfg bus.Config) []string {
	tb.Helper()
	topics := []string{prefix + "accepted", prefix + "events", prefix + "dead-letter", prefix + "credentials",
		bus.AgencyInbox(prefix, organA), bus.AgencyInbox(prefix, organB)}
	a, err := bus.NewAdmin(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer a.Close()
	for _, t := range topics {
		if err := a.EnsureTopics(tb.Context(), bus.TopicSpec{Name: t, Partitions: 1}); err != nil {
			tb.Fatal(err)
		}
	}
	p := newProducer(tb, cfg)
	for _, t := range topics {
		produceN(tb, p, t, 0, 1)
	}
	return topics
}

func provision(tb testing.TB, cfg bus.Config, users ...bus.AgencyUser) []string {
	tb.Helper()
	a, err := bus.NewAdmin(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer a.Close()
	revoked, err := a.ProvisionAgencies(tb.Context(), prefix, hubUser, users)
	if err != nil {
		tb.Fatalf("ProvisionAgencies: %v", err)
	}
	return revoked
}

// An agency's principal reads its own inbox topic with a group of its own
// prefix, and is refused, with Kafka's authorization errors, everything
// else: another agency's inbox, the hub's topics, other groups, producing.
func TestAgencyPrincipalAccess(t *testing.T) {
	addrs, tc := secureBroker(t, t.TempDir())
	hub := secureConfig(addrs, tc, hubUser, hubPass)
	hubTopics(t, hub)
	users := []bus.AgencyUser{{OrganID: organA, User: userA, Password: passA}, {OrganID: organB, User: userB, Password: passB},
		{OrganID: organParent, User: userParent, Password: passParent}, {OrganID: organChild, User: userChild, Password: passChild}}
	provision(t, hub, users...)
	// Twice: provisioning is idempotent.
	if revoked := provision(t, hub, users...); len(revoked) != 0 {
		t.Errorf("second run revoked %v", revoked)
	}
	agency := secureConfig(addrs, tc, userA, passA)
	inbox := bus.AgencyInbox(prefix, organA)
	group := bus.AgencyGroupPrefix(prefix, organA) + "reader"

	t.Run("reads its inbox with its group", func(t *testing.T) {
		col := newCollector()
		c, err := bus.NewConsumer(agency, testConsumerConfig(group, inbox), col.handle)
		if err != nil {
			t.Fatal(err)
		}
		r := startConsumer(t, c)
		testwait.Eventually(t, "the agency to read its inbox", func() bool { return len(col.snapshot()) == 1 })
		if err := r.stop(t); err != nil {
			t.Fatalf("consumer: %v", err)
		}
		a, err := bus.NewAdmin(agency)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if lag, err := a.Lag(t.Context(), group, inbox); err != nil || lag != 0 {
			t.Errorf("Lag of its own group = %d, %v; want 0 (committed)", lag, err)
		}
		if msgs, err := bus.ReadTopic(t.Context(), agency, inbox, 0); err != nil || len(msgs) != 1 {
			t.Errorf("ReadTopic(own inbox) = %d, %v; want 1 message", len(msgs), err)
		}
	})

	// The bus's clients look topics up in whole-cluster metadata, where
	// Kafka leaves out what a principal may not describe: they see an
	// unknown topic. A client naming the topic, as an agency's own would,
	// gets the authorization error itself.
	for _, topic := range []string{bus.AgencyInbox(prefix, organB), prefix + "accepted", prefix + "events", prefix + "credentials", prefix + "dead-letter"} {
		t.Run("cannot read "+topic, func(t *testing.T) {
			if _, err := bus.ReadTopic(t.Context(), agency, topic, 0); err == nil {
				t.Error("ReadTopic succeeded")
			}
			conn := agencyConn(t, addrs[0], tc, "")
			if _, err := conn.ReadPartitions(topic); !isKafka(err, kafka.TopicAuthorizationFailed) {
				t.Errorf("Metadata = %v; want TopicAuthorizationFailed", err)
			}
			conn = agencyConn(t, addrs[0], tc, topic)
			batch := conn.ReadBatch(1, 1<<20)
			if _, err := batch.ReadMessage(); !isKafka(err, kafka.TopicAuthorizationFailed) {
				t.Errorf("Fetch = %v; want TopicAuthorizationFailed", err)
			}
			batch.Close()
		})
	}

	for _, g := range []string{prefix + "router", prefix + "push", bus.AgencyGroupPrefix(prefix, organB) + "reader", "lienthong.agency." + organA} {
		t.Run("cannot use group "+g, func(t *testing.T) {
			a, err := bus.NewAdmin(agency)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if _, err := a.Lag(t.Context(), g, inbox); !isKafka(err, kafka.GroupAuthorizationFailed) {
				t.Errorf("Lag (describe group) = %v; want GroupAuthorizationFailed", err)
			}
			if err := joinGroup(t, addrs, tc, userA, passA, g, inbox); !isKafka(err, kafka.GroupAuthorizationFailed) {
				t.Errorf("JoinGroup = %v; want GroupAuthorizationFailed", err)
			}
		})
	}

	// A sub-unit's id extends its parent's: neither may join the
	// other's groups, each may join its own.
	t.Run("parent and sub-unit groups apart", func(t *testing.T) {
		tests := []struct {
			user, pass, organ string
			give              string // whose group
			want              bool   // authorized
		}{
			{userParent, passParent, organParent, organParent, true},
			{userChild, passChild, organChild, organChild, true},
			{userParent, passParent, organParent, organChild, false},
			{userChild, passChild, organChild, organParent, false},
		}
		for _, tt := range tests {
			g := bus.AgencyGroupPrefix(prefix, tt.give) + "reader"
			err := joinGroup(t, addrs, tc, tt.user, tt.pass, g, bus.AgencyInbox(prefix, tt.organ))
			if denied := isKafka(err, kafka.GroupAuthorizationFailed); denied == tt.want {
				t.Errorf("%s joins %s: %v; want authorized %v", tt.user, g, err, tt.want)
			}
		}
	})

	for _, topic := range []string{inbox, bus.AgencyInbox(prefix, organB), prefix + "accepted", prefix + "events", prefix + "credentials", prefix + "dead-letter"} {
		t.Run("cannot produce to "+topic, func(t *testing.T) {
			p := newProducer(t, agency)
			if err := p.Produce(t.Context(), bus.Message{Topic: topic, Value: []byte("forged")}); err == nil {
				t.Error("Produce succeeded")
			}
			conn := agencyConn(t, addrs[0], tc, topic)
			if _, err := conn.WriteMessages(kafka.Message{Value: []byte("forged")}); !isKafka(err, kafka.TopicAuthorizationFailed) {
				t.Errorf("Produce = %v; want TopicAuthorizationFailed", err)
			}
		})
	}

	t.Run("cannot create topics or grant itself ACLs", func(t *testing.T) {
		a, err := bus.NewAdmin(agency)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if err := a.EnsureTopics(t.Context(), bus.TopicSpec{Name: prefix + "inbox.mine", Partitions: 1}); !isKafka(err, kafka.TopicAuthorizationFailed) {
			t.Errorf("EnsureTopics = %v; want TopicAuthorizationFailed", err)
		}
		err = a.CreateACLs(t.Context(), bus.ACL{Principal: bus.Principal(userA), Resource: bus.ResourceTopic, Name: prefix, Prefixed: true, Operation: bus.OpRead})
		if !isKafka(err, kafka.ClusterAuthorizationFailed) {
			t.Errorf("CreateACLs = %v; want ClusterAuthorizationFailed", err)
		}
	})
}

// An agency removed from the list loses its ACLs and its credentials at
// the next provisioning; the others keep theirs. RevokeAgencyUser does the
// same at once.
func TestAgencyPrincipalRevoked(t *testing.T) {
	addrs, tc := secureBroker(t, t.TempDir())
	hub := secureConfig(addrs, tc, hubUser, hubPass)
	hubTopics(t, hub)
	a := bus.AgencyUser{OrganID: organA, User: userA, Password: passA}
	b := bus.AgencyUser{OrganID: organB, User: userB, Password: passB}
	provision(t, hub, a, b)
	canRead := func(cfg bus.Config, organ string) error {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := bus.ReadTopic(ctx, cfg, bus.AgencyInbox(prefix, organ), 0)
		return err
	}
	for _, u := range []bus.AgencyUser{a, b} {
		if err := canRead(secureConfig(addrs, tc, u.User, u.Password), u.OrganID); err != nil {
			t.Fatalf("%s before revocation: %v", u.User, err)
		}
	}
	if revoked := provision(t, hub, a); !slices.Equal(revoked, []string{userB}) {
		t.Errorf("revoked = %v; want [%s]", revoked, userB)
	}
	if err := canRead(secureConfig(addrs, tc, userB, passB), organB); err == nil {
		t.Error("the removed agency still reads its inbox")
	}
	acls := listACLs(t, hub)
	for _, acl := range acls {
		if acl.Principal == bus.Principal(userB) {
			t.Errorf("ACL left for the removed agency: %s", acl)
		}
	}
	if err := canRead(secureConfig(addrs, tc, userA, passA), organA); err != nil {
		t.Errorf("the remaining agency: %v", err)
	}
	// A password change takes effect at the next provisioning.
	a.Password = "a-new-password-for-agency-a"
	provision(t, hub, a)
	if err := canRead(secureConfig(addrs, tc, userA, passA), organA); err == nil {
		t.Error("the old password still works")
	}
	if err := canRead(secureConfig(addrs, tc, userA, a.Password), organA); err != nil {
		t.Errorf("the new password: %v", err)
	}

	admin, err := bus.NewAdmin(hub)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.RevokeAgencyUser(t.Context(), prefix, userA); err != nil {
		t.Fatalf("RevokeAgencyUser: %v", err)
	}
	if err := canRead(secureConfig(addrs, tc, userA, a.Password), organA); err == nil {
		t.Error("RevokeAgencyUser left the agency able to read")
	}
	if n := len(listACLs(t, hub)); n != 0 {
		t.Errorf("%d ACLs left after revoking every agency", n)
	}
}

// joinGroup joins group as user, subscribed to topic, and returns the
// error of the answer.
func joinGroup(tb testing.TB, addrs []string, tc *tls.Config, user, pass, group, topic string) error {
	cl := rawClient(addrs, tc, user, pass)
	resp, err := cl.JoinGroup(tb.Context(), &kafka.JoinGroupRequest{GroupID: group, SessionTimeout: 6 * time.Second, RebalanceTimeout: 6 * time.Second,
		ProtocolType: "consumer", Protocols: []kafka.GroupProtocol{{Name: "range", Metadata: kafka.GroupProtocolSubscription{Topics: []string{topic}}}}})
	if err == nil {
		err = resp.Error
	}
	return err
}

// agencyConn is one connection of agency A to the broker at addr, bound to
// partition 0 of topic when topic is set, without a metadata lookup.
func agencyConn(tb testing.TB, addr string, tc *tls.Config, topic string) *kafka.Conn {
	tb.Helper()
	mech, err := scram.Mechanism(scram.SHA512, userA, passA)
	if err != nil {
		tb.Fatal(err)
	}
	d := &kafka.Dialer{Timeout: 5 * time.Second, TLS: tc, SASLMechanism: mech}
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	var conn *kafka.Conn
	if topic == "" {
		conn, err = d.DialContext(tb.Context(), "tcp", addr)
	} else {
		conn, err = d.DialPartition(tb.Context(), "tcp", addr, kafka.Partition{Topic: topic, Leader: kafka.Broker{Host: host, Port: p}})
	}
	if err != nil {
		tb.Fatalf("dial as %s: %v", userA, err)
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	tb.Cleanup(func() { _ = conn.Close() })
	return conn
}

func listACLs(tb testing.TB, cfg bus.Config) []bus.ACL {
	tb.Helper()
	a, err := bus.NewAdmin(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	defer a.Close()
	acls, err := a.ACLs(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	return acls
}

func TestProvisionAgenciesErrors(t *testing.T) {
	addrs, tc := secureBroker(t, t.TempDir())
	a, err := bus.NewAdmin(secureConfig(addrs, tc, hubUser, hubPass))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	tests := []struct {
		name string
		give []bus.AgencyUser
	}{
		{"no password", []bus.AgencyUser{{OrganID: organA, User: userA}}},
		{"the hub's user", []bus.AgencyUser{{OrganID: organA, User: hubUser, Password: passA}}},
		{"one user for two agencies", []bus.AgencyUser{{OrganID: organA, User: userA, Password: passA}, {OrganID: organB, User: userA, Password: passB}}},
	}
	for _, tt := range tests {
		if _, err := a.ProvisionAgencies(t.Context(), prefix, hubUser, tt.give); !errors.Is(err, bus.ErrAgencyUser) {
			t.Errorf("%s: ProvisionAgencies = %v; want ErrAgencyUser", tt.name, err)
		}
	}
}

// A hub whose user is not a superuser works with HubACLs, and not with
// less: without the cluster ACLs it cannot provision agencies.
func TestHubACLsSuffice(t *testing.T) {
	addrs, tc := secureBroker(t, t.TempDir())
	super := secureConfig(addrs, tc, hubUser, hubPass)
	const user, pass = "lienthong-hub", "hub-password-not-super-01"
	setUp := func(provisioning bool) bus.Config {
		a, err := bus.NewAdmin(super)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if err := a.SetSCRAMUser(t.Context(), user, pass); err != nil {
			t.Fatal(err)
		}
		if err := a.DeleteACLs(t.Context(), bus.HubACLs(prefix, user, true)...); err != nil {
			t.Fatal(err)
		}
		if err := a.CreateACLs(t.Context(), bus.HubACLs(prefix, user, provisioning)...); err != nil {
			t.Fatal(err)
		}
		cfg := secureConfig(addrs, tc, user, pass)
		return cfg
	}
	cfg := setUp(true)
	hubTopics(t, cfg) // create and produce
	col := newCollector()
	c, err := bus.NewConsumer(cfg, testConsumerConfig(prefix+"router", prefix+"accepted"), col.handle)
	if err != nil {
		t.Fatal(err)
	}
	r := startConsumer(t, c)
	testwait.Eventually(t, "the hub's group to read", func() bool { return len(col.snapshot()) == 1 })
	if err := r.stop(t); err != nil {
		t.Fatalf("consumer: %v", err)
	}
	a, err := bus.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if lag, err := a.Lag(t.Context(), prefix+"router", prefix+"accepted"); err != nil || lag != 0 {
		t.Errorf("Lag = %d, %v", lag, err)
	}
	if _, err := a.TopicConfig(t.Context(), prefix+"accepted", "cleanup.policy"); err != nil {
		t.Errorf("TopicConfig: %v", err)
	}
	if _, err := a.ProvisionAgencies(t.Context(), prefix, user, []bus.AgencyUser{{OrganID: organA, User: userA, Password: passA}}); err != nil {
		t.Errorf("ProvisionAgencies with the cluster ACLs: %v", err)
	}
	// Outside its prefix it has nothing.
	if err := a.EnsureTopics(t.Context(), bus.TopicSpec{Name: "other.topic", Partitions: 1}); !isKafka(err, kafka.TopicAuthorizationFailed) {
		t.Errorf("EnsureTopics outside the prefix = %v; want TopicAuthorizationFailed", err)
	}

	cfg = setUp(false)
	a2, err := bus.NewAdmin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	if _, err := a2.ProvisionAgencies(t.Context(), prefix, user, []bus.AgencyUser{{OrganID: organA, User: userA, Password: passA}}); !isKafka(err, kafka.ClusterAuthorizationFailed) {
		t.Errorf("ProvisionAgencies without the cluster ACLs = %v; want ClusterAuthorizationFailed", err)
	}
}

// hasSCRAM reports whether user has SCRAM credentials, asked as the hub.
func hasSCRAM(tb testing.TB, addrs []string, tc *tls.Config, user string) bool {
	tb.Helper()
	resp, err := rawClient(addrs, tc, hubUser, hubPass).DescribeUserScramCredentials(tb.Context(),
		&kafka.DescribeUserScramCredentialsRequest{Users: []kafka.UserScramCredentialsUser{{Name: user}}})
	if err == nil {
		err = resp.Error
	}
	if err != nil || len(resp.Results) != 1 {
		tb.Fatalf("DescribeUserScramCredentials(%s) = %v", user, err)
	}
	if r := resp.Results[0]; r.Error != nil {
		if !errors.Is(r.Error, kafka.ResourceNotFound) {
			tb.Fatalf("DescribeUserScramCredentials(%s) = %v", user, r.Error)
		}
		return false
	}
	return true
}

// Provisioning deletes every ACL any principal but the hub holds on inbox
// topics and agency groups, whatever its host, operation or pattern; DENY
// ACLs stay. It deletes the SCRAM credentials only of the principals the
// hub made, recognised by their ACLs: an operator's user that was lent an
// inbox ACL keeps its password.
func TestProvisionAgenciesOthers(t *testing.T) {
	addrs, tc := secureBroker(t, t.TempDir())
	hub := secureConfig(addrs, tc, hubUser, hubPass)
	hubTopics(t, hub)
	a, err := bus.NewAdmin(hub)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	inboxA, inboxB := bus.AgencyInbox(prefix, organA), bus.AgencyInbox(prefix, organB)
	acl := func(user string, r bus.ResourceType, name string, op bus.Operation) bus.ACL {
		return bus.ACL{Principal: bus.Principal(user), Resource: r, Name: name, Operation: op}
	}
	// old-agency was made by the hub (under the "." group prefix of
	// earlier hubs); the others by a person.
	oldAgency := bus.AgencyACLs(prefix, bus.AgencyUser{OrganID: organB, User: "old-agency"})
	oldAgency[2].Name = prefix + "agency." + organB + "."
	oldAgency[3].Name = prefix + "agency." + organB + "."
	lent := bus.AgencyACLs(prefix, bus.AgencyUser{OrganID: organB, User: "ops"})
	hostACL := acl("admin", bus.ResourceTopic, inboxB, bus.OpRead)
	hostACL.Host = "10.0.0.1"
	prefixedACL := acl("admin", bus.ResourceTopic, prefix+"inbox.", bus.OpRead)
	prefixedACL.Prefixed = true
	deny := acl("admin", bus.ResourceTopic, inboxB, bus.OpWrite)
	deny.Deny = true
	stay := []bus.ACL{
		acl("ops", bus.ResourceCluster, "kafka-cluster", bus.OpDescribe),
		acl("admin", bus.ResourceTopic, prefix+"events", bus.OpRead),
		deny,
	}
	gone := append(append(oldAgency, lent...),
		acl("admin", bus.ResourceTopic, inboxA, bus.OpRead),
		acl("admin", bus.ResourceTopic, inboxA, bus.OpAll),
		acl("admin", bus.ResourceTopic, inboxA, bus.OpDelete),
		acl("admin", bus.ResourceGroup, prefix+"agency."+organA+"-", bus.OpAll),
		acl("reader", bus.ResourceTopic, inboxA, bus.OpRead),
		hostACL, prefixedACL)
	for _, u := range []string{"old-agency", "ops", "admin", "reader"} {
		if err := a.SetSCRAMUser(t.Context(), u, "a-password-of-"+u); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.CreateACLs(t.Context(), append(slices.Clone(stay), gone...)...); err != nil {
		t.Fatal(err)
	}
	if n := len(listACLs(t, hub)); n != len(stay)+len(gone) {
		t.Fatalf("%d ACLs listed; want %d", n, len(stay)+len(gone))
	}

	if revoked := provision(t, hub, bus.AgencyUser{OrganID: organA, User: userA, Password: passA}); !slices.Equal(revoked, []string{"old-agency"}) {
		t.Errorf("revoked = %v; want [old-agency]", revoked)
	}
	have := listACLs(t, hub)
	for _, g := range gone {
		if slices.Contains(have, g) {
			t.Errorf("left: %s", g)
		}
	}
	for _, s := range append(stay, bus.AgencyACLs(prefix, bus.AgencyUser{OrganID: organA, User: userA})...) {
		if !slices.Contains(have, s) {
			t.Errorf("deleted: %s", s)
		}
	}
	tests := []struct {
		give string
		want bool
	}{{"old-agency", false}, {"ops", true}, {"admin", true}, {"reader", true}, {userA, true}, {hubUser, true}}
	for _, tt := range tests {
		if got := hasSCRAM(t, addrs, tc, tt.give); got != tt.want {
			t.Errorf("%s has SCRAM credentials: %v; want %v", tt.give, got, tt.want)
		}
	}
}

// A provisioning that fails half way leaves what the next one needs to
// finish a revocation: the credentials go before the ACLs, whose
// principal the next run would otherwise no longer see.
func TestProvisionAgenciesRevocationResumes(t *testing.T) {
	b, tc := secureBrokerOf(t, t.TempDir())
	addrs := b.Addrs()
	hub := secureConfig(addrs, tc, hubUser, hubPass)
	hubTopics(t, hub)
	ua := bus.AgencyUser{OrganID: organA, User: userA, Password: passA}
	provision(t, hub, ua, bus.AgencyUser{OrganID: organB, User: userB, Password: passB})

	f := b.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.AlterUserSCRAMCredentials}, Resource: userB})
	a, err := bus.NewAdmin(hub)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.ProvisionAgencies(t.Context(), prefix, hubUser, []bus.AgencyUser{ua}); err == nil {
		t.Fatal("ProvisionAgencies succeeded through the fault")
	}
	if f.Hits() != 1 {
		t.Fatalf("fault hit %d times", f.Hits())
	}
	if revoked := provision(t, hub, ua); !slices.Equal(revoked, []string{userB}) {
		t.Errorf("revoked = %v; want [%s]", revoked, userB)
	}
	if hasSCRAM(t, addrs, tc, userB) {
		t.Error("the removed agency keeps its credentials")
	}
	for _, acl := range listACLs(t, hub) {
		if acl.Principal == bus.Principal(userB) {
			t.Errorf("left: %s", acl)
		}
	}
}
