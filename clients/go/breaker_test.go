package iris

import (
	"testing"
	"time"
)

func TestBreakerStateMachine(t *testing.T) {
	now := time.Unix(0, 0)
	var changes []string
	b, err := NewBreaker(BreakerOptions{FailureThreshold: 3, OpenFor: time.Second}, func() time.Time { return now }, func(from, to BreakerState) {
		changes = append(changes, string(from)+">"+string(to))
	})
	if err != nil {
		t.Fatal(err)
	}
	b.Failure()
	b.Failure()
	b.Success()
	b.Failure()
	b.Failure()
	if b.State() != Closed || !b.Allow() {
		t.Fatalf("a success resets the count: %s", b.State())
	}
	b.Failure()
	if b.State() != Open || b.Allow() {
		t.Fatalf("3 consecutive failures open it: %s", b.State())
	}
	now = now.Add(999 * time.Millisecond)
	if b.Allow() || b.TrialDue() {
		t.Fatal("still open before OpenFor")
	}
	now = now.Add(time.Millisecond)
	if !b.Allow() || b.State() != HalfOpen {
		t.Fatalf("one trial after OpenFor: %s", b.State())
	}
	if b.Allow() {
		t.Fatal("only one trial at a time")
	}
	b.Failure()
	if b.State() != Open {
		t.Fatal("a failed trial opens it again")
	}
	now = now.Add(time.Second)
	if !b.Allow() {
		t.Fatal("trial again after another OpenFor")
	}
	b.Success()
	if b.State() != Closed || !b.Allow() {
		t.Fatal("a successful trial closes it")
	}
	want := []string{"closed>open", "open>half-open", "half-open>open", "open>half-open", "half-open>closed"}
	if len(changes) != len(want) {
		t.Fatalf("changes %v, want %v", changes, want)
	}
	for i := range want {
		if changes[i] != want[i] {
			t.Fatalf("changes %v, want %v", changes, want)
		}
	}
	if _, err := NewBreaker(BreakerOptions{FailureThreshold: 0}, nil, nil); err == nil {
		t.Fatal("FailureThreshold 0 must be refused")
	}
}

// A half-open trial that ends without an answer (the caller's deadline) must not leave the breaker stuck.
func TestBreakerAbandonedTrial(t *testing.T) {
	now := time.Unix(0, 0)
	b, err := NewBreaker(BreakerOptions{FailureThreshold: 1, OpenFor: time.Second}, func() time.Time { return now }, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.Failure()
	now = now.Add(time.Second)
	if !b.Allow() || b.State() != HalfOpen {
		t.Fatalf("trial after OpenFor: %s", b.State())
	}
	if b.Allow() {
		t.Fatal("only one trial at a time")
	}
	b.Abandon()
	if !b.Allow() {
		t.Fatal("an abandoned trial lets another one go")
	}
	b.Success()
	if b.State() != Closed {
		t.Fatalf("the second trial closes it: %s", b.State())
	}
	b.Abandon()
	if b.State() != Closed || !b.Allow() {
		t.Fatal("Abandon on a closed breaker changes nothing")
	}
}

