package iris

import (
	"fmt"
	"sync"
	"time"
)

// BreakerState is closed (requests flow), open (none go) or half-open (one trial).
type BreakerState string

const (
	Closed   BreakerState = "closed"
	Open     BreakerState = "open"
	HalfOpen BreakerState = "half-open"
)

// BreakerOptions: FailureThreshold consecutive failures open it; after OpenFor one trial is let through.
type BreakerOptions struct {
	FailureThreshold int
	OpenFor          time.Duration
}

// DefaultBreaker matches the TypeScript client.
var DefaultBreaker = BreakerOptions{FailureThreshold: 3, OpenFor: time.Second}

// Breaker is a per-node circuit breaker over an injected clock; safe for concurrent use.
type Breaker struct {
	mu       sync.Mutex
	opts     BreakerOptions
	now      func() time.Time
	onChange func(from, to BreakerState)
	state    BreakerState
	failures int
	openedAt time.Time
	trial    bool
}

// NewBreaker checks the options; onChange may be nil.
func NewBreaker(o BreakerOptions, now func() time.Time, onChange func(from, to BreakerState)) (*Breaker, error) {
	if o.FailureThreshold < 1 || o.OpenFor < 0 {
		return nil, fmt.Errorf("bad breaker options: FailureThreshold %d (>= 1), OpenFor %s (>= 0)", o.FailureThreshold, o.OpenFor)
	}
	if now == nil {
		now = time.Now
	}
	return &Breaker{opts: o, now: now, onChange: onChange, state: Closed}, nil
}

func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// TrialDue: open and the open period has passed.
func (b *Breaker) TrialDue() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.trialDueLocked()
}

func (b *Breaker) trialDueLocked() bool {
	return b.state == Open && b.now().Sub(b.openedAt) >= b.opts.OpenFor
}

// Allow says whether a request may go now; in half-open only one trial at a time.
func (b *Breaker) Allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case Closed:
		return true
	case Open:
		if !b.trialDueLocked() {
			return false
		}
		b.move(HalfOpen)
	}
	if b.trial {
		return false
	}
	b.trial = true
	return true
}

func (b *Breaker) Success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures = 0
	b.trial = false
	if b.state != Closed {
		b.move(Closed)
	}
}

// Abandon: a request that may have been the half-open trial ended without
// saying whether the node is alive (the caller's own deadline or cancel, an
// error that is neither an answer nor a node failure). Without it the trial
// would stay taken, and the breaker half-open with no request ever allowed.
func (b *Breaker) Abandon() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trial = false
}

func (b *Breaker) Failure() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trial = false
	b.failures++
	if b.state == HalfOpen || (b.state == Closed && b.failures >= b.opts.FailureThreshold) {
		b.openedAt = b.now()
		b.move(Open)
	}
}

func (b *Breaker) move(to BreakerState) {
	from := b.state
	b.state = to
	if b.onChange != nil {
		b.onChange(from, to)
	}
}

// breakerSet keeps one breaker per node.
type breakerSet struct {
	mu       sync.Mutex
	opts     BreakerOptions
	now      func() time.Time
	onChange func(node string, from, to BreakerState)
	m        map[string]*Breaker
}

func (s *breakerSet) get(node string) *Breaker {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.m[node]; ok {
		return b
	}
	b, _ := NewBreaker(s.opts, s.now, func(from, to BreakerState) {
		if s.onChange != nil {
			s.onChange(node, from, to)
		}
	})
	s.m[node] = b
	return b
}

func (s *breakerSet) states() map[string]BreakerState {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]BreakerState, len(s.m))
	for n, b := range s.m {
		out[n] = b.State()
	}
	return out
}
