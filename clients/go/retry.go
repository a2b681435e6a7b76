// Package iris is the IrisDB client for Go: go-redis's ClusterClient with
// IrisDB's policies (docs/clients.md) — a retry table that retries writes
// only after errors proving they did not run, a circuit breaker per node,
// per-attempt timeouts that refresh the slot map, read consistency,
// context deadlines, credentials and TLS, metrics hooks — plus a typed
// client for the HTTP API.
package iris

import (
	"errors"
	"math/rand/v2"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Kind says whether a command only reads (retried after any transient failure) or writes.
type Kind int

const (
	Read Kind = iota
	Write
)

// Outcome says whether a failed command may have run.
type Outcome int

const (
	// NotApplied: proven not to have run; safe to retry.
	NotApplied Outcome = iota
	// Unknown: it may have run (a timeout or a broken connection after sending).
	Unknown
	// AppliedError: the server answered with an error (WRONGTYPE, ERR, HTTP 4xx).
	AppliedError
)

func (o Outcome) String() string {
	return [...]string{"not-applied", "unknown", "applied-error"}[o]
}

// Decision is the retry table's answer for one failed attempt.
type Decision struct {
	Retry       bool
	Outcome     Outcome
	NodeFailure bool // counts against the node's breaker
	RefreshMap  bool // the slot map may be stale
	Reason      string
}

func decide(kind Kind, o Outcome, reason string, nodeFailure, refresh bool) Decision {
	retry := o == NotApplied || (o == Unknown && kind == Read)
	return Decision{Retry: retry, Outcome: o, NodeFailure: nodeFailure, RefreshMap: refresh, Reason: reason}
}

// ErrCircuitOpen is returned (wrapped in *CircuitOpenError) when a node's breaker is open: nothing was sent.
var ErrCircuitOpen = errors.New("circuit breaker open")

// CircuitOpenError names the node whose breaker refused the command.
type CircuitOpenError struct{ Node string }

func (e *CircuitOpenError) Error() string        { return "circuit breaker open for " + e.Node + ": not sent" }
func (e *CircuitOpenError) Is(target error) bool { return target == ErrCircuitOpen }

// ClassifyResp is the RESP retry table. msg is a Redis error reply or an error's text; err is the error itself when there is one (for net errors).
func ClassifyResp(err error, kind Kind) Decision {
	if errors.Is(err, ErrCircuitOpen) {
		return decide(kind, NotApplied, "circuit_open", false, true)
	}
	if isNotConnected(err) {
		return decide(kind, NotApplied, "connect_refused", true, true)
	}
	if errors.Is(err, redis.ErrPoolTimeout) {
		// Every connection to the node is busy (behind a paused process, or just load): nothing was sent.
		return decide(kind, NotApplied, "pool_timeout", false, true)
	}
	msg := err.Error()
	switch word, _, _ := strings.Cut(msg, " "); word {
	case "CLUSTERDOWN":
		return decide(kind, NotApplied, "clusterdown", false, true)
	case "TRYAGAIN":
		return decide(kind, NotApplied, "tryagain", false, false)
	case "LOADING":
		return decide(kind, NotApplied, "loading", false, false)
	case "MASTERDOWN":
		return decide(kind, NotApplied, "masterdown", false, true)
	case "READONLY":
		return decide(kind, NotApplied, "readonly", false, true)
	case "MOVED", "ASK":
		return decide(kind, NotApplied, "moved", false, true)
	case "NOREPLICAS":
		return decide(kind, Unknown, "noreplicas", false, false)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return decide(kind, Unknown, "timeout", true, true)
	}
	if isBrokenConnection(err) {
		return decide(kind, Unknown, "connection_lost", true, true)
	}
	return Decision{Outcome: AppliedError, Reason: "server_error"}
}

// ClassifyHTTPStatus is the HTTP retry table (docs/http-api.md "Errors").
func ClassifyHTTPStatus(status int, code string, kind Kind) Decision {
	switch {
	case status == 503 && code == "write_failed":
		return decide(kind, NotApplied, code, false, false)
	case status == 503 && (code == "cluster_down" || code == "not_confirmed"):
		return decide(kind, NotApplied, code, false, true)
	case status == 503 && code == "replication_timeout":
		return decide(kind, Unknown, code, false, false)
	case status == 503 && code == "not_ready":
		return decide(kind, NotApplied, code, true, false)
	case status == 421:
		return decide(kind, NotApplied, "moved", false, true)
	case status == 502 && code == "forward_failed":
		return decide(kind, NotApplied, code, false, false)
	case status == 504:
		return decide(kind, Unknown, "forward_timeout", false, false)
	case status == 429:
		return decide(kind, NotApplied, "too_many_requests", false, false)
	case status == 503:
		return decide(kind, Unknown, "unavailable", true, false)
	}
	o := AppliedError
	if status >= 500 {
		o = Unknown
	}
	return Decision{Outcome: o, Reason: code}
}

// ClassifyHTTPTransport classifies a request that got no response.
func ClassifyHTTPTransport(err error, kind Kind) Decision {
	if errors.Is(err, ErrCircuitOpen) {
		return decide(kind, NotApplied, "circuit_open", false, false)
	}
	if isNotConnected(err) {
		return decide(kind, NotApplied, "connect_refused", true, false)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return decide(kind, Unknown, "timeout", true, false)
	}
	return decide(kind, Unknown, "connection_lost", true, false)
}

func isNotConnected(err error) bool {
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func isBrokenConnection(err error) bool {
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed) {
		return true
	}
	m := err.Error()
	return m == "EOF" || strings.HasSuffix(m, ": EOF") || m == "unexpected EOF" || strings.Contains(m, "use of closed network connection") || m == "redis: client is closed"
}

// BackoffOptions bound the waits between attempts.
type BackoffOptions struct {
	Base time.Duration
	Max  time.Duration
}

// BackoffDelay is "full jitter": uniform in [0, min(Max, Base·2^(attempt-1))). random returns [0,1).
func BackoffDelay(attempt int, o BackoffOptions, random func() float64) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	capd := o.Max
	if attempt < 31 {
		if c := o.Base << (attempt - 1); c < capd {
			capd = c
		}
	}
	if random == nil {
		random = rand.Float64
	}
	return time.Duration(random() * float64(capd))
}
