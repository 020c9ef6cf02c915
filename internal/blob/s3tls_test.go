package blob_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lienthong/lienthong/internal/blob"
	"github.com/lienthong/lienthong/internal/tlstest"
)

// versitygwBinary finds versitygw as scripts/versitygw.sh installs it.
// Without it the test is skipped, except under CI, where it fails.
func versitygwBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("VERSITYGW"); p != "" {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(string(bytes.TrimSpace(out)), "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI is set but versitygw is not installed: scripts/versitygw.sh install")
	}
	t.Skip("versitygw not installed; scripts/versitygw.sh install")
	return ""
}

// An S3 server whose certificate a private CA issued: the store reaches it
// with that CA as RootCAs, and refuses it without.
func TestS3CustomCA(t *testing.T) {
	bin := versitygwBinary(t)
	dir := t.TempDir()
	srv := tlstest.New(t, dir)
	cert, key, pool := srv.CertFile, srv.KeyFile, srv.Pool
	// versitygw takes a port, not a listener, and does not say which port
	// it got from :0: it gets one the kernel just gave and took back. If
	// another process binds it in between, versitygw exits ("versitygw
	// exited" below) and nothing else passes the TLS handshake with this
	// test's CA: a clear failure, never a test against the wrong server.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	const access, secret = "lttlsaccess", "tls-test-secret-0123456789"
	cmd := exec.Command(bin, "--port", addr, "--cert", cert, "--key", key, "--quiet", "posix", data)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY_ID="+access, "ROOT_SECRET_ACCESS_KEY="+secret)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
		if err == nil {
			conn.Close()
			break
		}
		select {
		case <-exited:
			t.Fatalf("versitygw exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw does not answer TLS on %s: %v\n%s", addr, err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	cfg := blob.S3Config{Endpoint: addr, Bucket: "lienthong-tls", AccessKey: access, SecretKey: secret,
		UseTLS: true, RootCAs: pool, CreateBucket: true, SpoolDir: t.TempDir()}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := blob.NewS3(ctx, cfg)
	if err != nil {
		t.Fatalf("NewS3 with the CA: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	want := []byte("packet bytes over TLS")
	if _, err := s.Create(ctx, "tls/one", bytes.NewReader(want), int64(len(want)), blob.Meta{}); err != nil {
		t.Fatalf("Create: %v", err)
	}
	rc, _, err := s.Get(ctx, "tls/one", 0, -1)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Get = %q, %v; want %q", got, err, want)
	}

	// The system's roots do not know the private CA.
	cfg.RootCAs = nil
	_, err = blob.NewS3(ctx, cfg)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("NewS3 without the CA = %v; want x509.UnknownAuthorityError", err)
	}
	// Nor does plain HTTP get an answer from a TLS-only server.
	cfg.UseTLS = false
	if _, err := blob.NewS3(ctx, cfg); err == nil {
		t.Error("NewS3 over plain HTTP to a TLS server succeeded")
	}
}

func TestS3RootCAsNeedTLS(t *testing.T) {
	cfg := blob.S3Config{Endpoint: "127.0.0.1:1", Bucket: "b", AccessKey: "a", SecretKey: "s", RootCAs: x509.NewCertPool()}
	if err := cfg.Validate(); !errors.Is(err, blob.ErrInvalidConfig) {
		t.Errorf("Validate = %v; want ErrInvalidConfig", err)
	}
}
