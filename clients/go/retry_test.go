package iris

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestRespTableRetriesWritesOnlyWhenNotApplied(t *testing.T) {
	notApplied := []error{
		errors.New("CLUSTERDOWN Hash slot not served"), errors.New("TRYAGAIN The slot is changing owner, retry the command"),
		errors.New("LOADING IrisDB is loading the dataset from its primary"), errors.New("READONLY You can't write against a read only replica."),
		errors.New("MOVED 3999 127.0.0.1:6381"), &CircuitOpenError{Node: "x:1"},
		&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)},
	}
	for _, err := range notApplied {
		for _, k := range []Kind{Read, Write} {
			d := ClassifyResp(err, k)
			if !d.Retry || d.Outcome != NotApplied {
				t.Errorf("%v kind %d: %+v, want a not-applied retry", err, k, d)
			}
		}
	}
	unknown := []error{
		&net.OpError{Op: "read", Net: "tcp", Err: timeoutErr{}}, errors.New("EOF"), fmt.Errorf("read: %w", syscall.ECONNRESET),
		errors.New("NOREPLICAS Not enough good replicas to write"),
	}
	for _, err := range unknown {
		if d := ClassifyResp(err, Read); !d.Retry {
			t.Errorf("%v read: %+v, want a retry", err, d)
		}
		if d := ClassifyResp(err, Write); d.Retry || d.Outcome != Unknown {
			t.Errorf("%v write: %+v, want no retry with an unknown outcome", err, d)
		}
	}
	if d := ClassifyResp(&net.OpError{Op: "read", Err: timeoutErr{}}, Read); !d.NodeFailure || !d.RefreshMap {
		t.Errorf("timeout: %+v, want a node failure and a map refresh", d)
	}
	for _, m := range []string{"WRONGTYPE Operation against a key holding the wrong kind of value", "ERR value is not an integer or out of range", "NOAUTH Authentication required."} {
		if d := ClassifyResp(errors.New(m), Read); d.Retry || d.Outcome != AppliedError || d.NodeFailure {
			t.Errorf("%s: %+v, want no retry", m, d)
		}
	}
}

func TestHTTPTable(t *testing.T) {
	cases := []struct {
		status      int
		code        string
		read, write bool
	}{
		{503, "write_failed", true, true}, {503, "cluster_down", true, true}, {502, "forward_failed", true, true}, {421, "moved", true, true},
		{503, "not_confirmed", true, true}, {504, "forward_failed", true, false}, {503, "replication_timeout", true, false},
		{400, "bad_request", false, false}, {412, "precondition_failed", false, false}, {401, "unauthorized", false, false}, {500, "internal", false, false},
	}
	for _, c := range cases {
		if d := ClassifyHTTPStatus(c.status, c.code, Read); d.Retry != c.read {
			t.Errorf("%d %s read: %+v", c.status, c.code, d)
		}
		if d := ClassifyHTTPStatus(c.status, c.code, Write); d.Retry != c.write {
			t.Errorf("%d %s write: %+v", c.status, c.code, d)
		}
	}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	if d := ClassifyHTTPTransport(refused, Write); !d.Retry || d.Outcome != NotApplied {
		t.Errorf("refused write: %+v", d)
	}
	if d := ClassifyHTTPTransport(errors.New("unexpected EOF"), Write); d.Retry || d.Outcome != Unknown {
		t.Errorf("broken write: %+v", d)
	}
}

func TestBackoffFullJitter(t *testing.T) {
	o := BackoffOptions{Base: 50 * time.Millisecond, Max: 500 * time.Millisecond}
	for attempt := 1; attempt < 80; attempt++ {
		for _, r := range []float64{0, 0.5, 0.999999} {
			d := BackoffDelay(attempt, o, func() float64 { return r })
			limit := o.Max
			if attempt < 10 && o.Base<<(attempt-1) < limit {
				limit = o.Base << (attempt - 1)
			}
			if d < 0 || d >= limit+1 {
				t.Fatalf("attempt %d r %v: %s outside [0, %s]", attempt, r, d, limit)
			}
		}
	}
	if d := BackoffDelay(3, o, func() float64 { return 0.5 }); d != 100*time.Millisecond {
		t.Fatalf("attempt 3 at 0.5: %s", d)
	}
}
