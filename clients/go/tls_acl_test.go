package iris

// Runs against a real local cluster started with --tls and an aclfile by
// test/integration/clients-tls-acl.test.ts, which passes the addresses, the CA
// and the users in the environment; skipped without them.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func tlsACLEnv(t *testing.T) (addrs []string, cfg *tls.Config, user, pass string) {
	nodes := os.Getenv("IRISDB_TLS_TEST_NODES")
	if nodes == "" {
		t.Skip("IRISDB_TLS_TEST_NODES not set (the mocha test clients-tls-acl starts a TLS cluster)")
	}
	pem, err := os.ReadFile(os.Getenv("IRISDB_TLS_TEST_CA"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in IRISDB_TLS_TEST_CA")
	}
	return strings.Split(nodes, ","), &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, os.Getenv("IRISDB_TLS_TEST_USER"), os.Getenv("IRISDB_TLS_TEST_PASS")
}

func TestTLSACLAndStrongReads(t *testing.T) {
	addrs, cfg, user, pass := tlsACLEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := New(Options{Addrs: addrs, TLSConfig: cfg, Username: user, Password: pass, CommandTimeout: 5 * time.Second, DialTimeout: 5 * time.Second})
	defer c.Close()
	if err := c.Set(ctx, "tenant-a:go", "v1", 0); err != nil {
		t.Fatalf("set over TLS as %s: %v", user, err)
	}
	if v, ok, err := c.Get(ctx, "tenant-a:go"); err != nil || !ok || v != "v1" {
		t.Fatalf("get: %q %v %v", v, ok, err)
	}
	// A key outside the user's patterns: the node's NOPERM, not retried.
	err := c.Set(ctx, "tenant-b:go", "x", 0)
	var e *Error
	if err == nil || !errors.As(err, &e) || !strings.Contains(err.Error(), "NOPERM") || e.Attempts != 1 {
		t.Fatalf("want one NOPERM attempt for another tenant's key, got %v", err)
	}
	// Strong reads over RESP, per call and as the client's default.
	v, err := c.DoWith(ctx, Strong, "get", "tenant-a:go")
	if err != nil || v != "v1" {
		t.Fatalf("strong get: %v %v", v, err)
	}
	s := New(Options{Addrs: addrs, TLSConfig: cfg, Username: user, Password: pass, ReadConsistency: Strong, CommandTimeout: 5 * time.Second, DialTimeout: 5 * time.Second})
	defer s.Close()
	if v, ok, err := s.Get(ctx, "tenant-a:go"); err != nil || !ok || v != "v1" {
		t.Fatalf("strong client get: %q %v %v", v, ok, err)
	}
	// The connections strong reads use are at the strong level (any node answers a keyless command).
	level, err := s.strong.Do(ctx, "iris.consistency").Result()
	if err != nil || level != "strong" {
		t.Fatalf("the strong client's connections are at %v (%v)", level, err)
	}
	// Wrong password: refused at connect.
	bad := New(Options{Addrs: addrs, TLSConfig: cfg, Username: user, Password: "wrong", CommandTimeout: 5 * time.Second, DialTimeout: 5 * time.Second, Retry: RetryOptions{MaxAttempts: 1}})
	defer bad.Close()
	if _, _, err := bad.Get(ctx, "tenant-a:go"); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("want WRONGPASS with a wrong password, got %v", err)
	}
	t.Log("TLS + ACL + strong reads over RESP: ok")
}
