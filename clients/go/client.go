package iris

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Consistency of reads: Default (the primary), Eventual (a replica, READONLY), Strong (the primary confirms it
// still leads its shard before answering: connections that sent IRIS.CONSISTENCY strong).
type Consistency string

const (
	Default  Consistency = "default"
	Eventual Consistency = "eventual"
	Strong   Consistency = "strong"
)

// RetryOptions bound the attempts of one call.
type RetryOptions struct {
	MaxAttempts int           // attempts in all, the first included (default 8)
	Base        time.Duration // first backoff cap (default 50ms)
	Max         time.Duration // longest backoff (default 500ms)
}

// Hooks are metrics callbacks; each must be cheap. Any may be nil.
type Hooks struct {
	OnCommand            func(command string, kind Kind, d time.Duration, attempts int, err error)
	OnRetry              func(command string, attempt int, reason string, delay time.Duration)
	OnBreakerStateChange func(node string, from, to BreakerState)
	OnSlotMapRefresh     func(reason string)
}

// Options of the RESP client.
type Options struct {
	Addrs              []string // seed nodes, host:port
	Username, Password string
	TLSConfig          *tls.Config   // passed to go-redis
	PoolSize           int           // connections per node (go-redis default when 0)
	MinIdleConns       int           // per node
	CommandTimeout     time.Duration // one attempt; default 1s. A node that does not answer in time is suspected.
	DialTimeout        time.Duration // default 1s
	ReadConsistency    Consistency   // Default, Eventual or Strong
	Retry              RetryOptions
	Breaker            BreakerOptions
	ProbeInterval      time.Duration // breaker trials and map refresh while a node is suspect; default 200ms
	Hooks              Hooks
	Random             func() float64
	Now                func() time.Time
}

// Error is what a failed call returns: whether it may have run, after how many attempts, and why.
type Error struct {
	Op       string
	Outcome  Outcome
	Attempts int
	Reason   string
	Err      error
}

func (e *Error) Error() string {
	return e.Op + ": " + e.Err.Error() + " (" + e.Outcome.String() + ", " + e.Reason + ")"
}
func (e *Error) Unwrap() error { return e.Err }

// attemptError hides an unknown-outcome failure from go-redis's own retries (which would resend a write); no Unwrap on purpose.
type attemptError struct{ err error }

func (e *attemptError) Error() string { return e.err.Error() }

// readCommands only read: retried after any transient failure.
var readCommands = map[string]bool{"get": true, "mget": true, "getrange": true, "strlen": true, "exists": true, "ttl": true, "pttl": true, "type": true,
	"scan": true, "keys": true, "dbsize": true, "ping": true, "echo": true, "dump": true, "expiretime": true, "pexpiretime": true, "bitcount": true, "getbit": true, "lcs": true}

// KindOf classifies a command by name.
func KindOf(name string) Kind {
	if readCommands[strings.ToLower(name)] {
		return Read
	}
	return Write
}

// Client is go-redis's ClusterClient with IrisDB's policies.
type Client struct {
	opts     Options
	rc       *redis.ClusterClient
	replicas *redis.ClusterClient
	strong   *redis.ClusterClient // connections at IRIS.CONSISTENCY strong, made on the first strong read
	breakers *breakerSet
	mu       sync.Mutex
	lastRef  time.Time
	stop     chan struct{}
	done     sync.WaitGroup
}

// New connects lazily (like go-redis) and starts the breaker prober.
func New(o Options) *Client {
	if o.CommandTimeout == 0 {
		o.CommandTimeout = time.Second
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = time.Second
	}
	if o.Retry.MaxAttempts == 0 {
		o.Retry.MaxAttempts = 8
	}
	if o.Retry.Base == 0 {
		o.Retry.Base = 50 * time.Millisecond
	}
	if o.Retry.Max == 0 {
		o.Retry.Max = 500 * time.Millisecond
	}
	if o.Breaker.FailureThreshold == 0 {
		o.Breaker = DefaultBreaker
	}
	if o.ProbeInterval == 0 {
		o.ProbeInterval = 200 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Client{opts: o, stop: make(chan struct{})}
	c.breakers = &breakerSet{opts: o.Breaker, now: o.Now, onChange: o.Hooks.OnBreakerStateChange, m: map[string]*Breaker{}}
	c.rc = redis.NewClusterClient(c.clusterOptions(false))
	c.rc.OnNewNode(func(rdb *redis.Client) { rdb.AddHook(&nodeHook{c: c, addr: rdb.Options().Addr}) })
	if o.ReadConsistency == Eventual {
		c.replicas = redis.NewClusterClient(c.clusterOptions(true))
	}
	c.done.Add(1)
	go c.prober()
	return c
}

func (c *Client) clusterOptions(readOnly bool) *redis.ClusterOptions {
	o := c.opts
	return &redis.ClusterOptions{
		Addrs: o.Addrs, Username: o.Username, Password: o.Password, TLSConfig: o.TLSConfig,
		PoolSize: o.PoolSize, MinIdleConns: o.MinIdleConns,
		DialTimeout: o.DialTimeout, ReadTimeout: o.CommandTimeout, WriteTimeout: o.CommandTimeout,
		ContextTimeoutEnabled: true,
		// Node clients never resend on their own: the retry table decides.
		MaxRetries: -1,
		ReadOnly:   readOnly,
	}
}

// Raw is the ClusterClient underneath (pipelines, Pub/Sub), without the outer retries.
func (c *Client) Raw() *redis.ClusterClient { return c.rc }

// NodeOf is the address of the primary serving key in the current map.
func (c *Client) NodeOf(ctx context.Context, key string) (string, error) {
	m, err := c.rc.MasterForKey(ctx, key)
	if err != nil {
		return "", err
	}
	return m.Options().Addr, nil
}

// BreakerStates by node address.
func (c *Client) BreakerStates() map[string]BreakerState { return c.breakers.states() }

// RefreshSlotMap asks the cluster for its slot map again (throttled to one per 100ms).
func (c *Client) RefreshSlotMap(reason string) {
	c.mu.Lock()
	now := c.opts.Now()
	if now.Sub(c.lastRef) < 100*time.Millisecond {
		c.mu.Unlock()
		return
	}
	c.lastRef = now
	c.mu.Unlock()
	if c.opts.Hooks.OnSlotMapRefresh != nil {
		c.opts.Hooks.OnSlotMapRefresh(reason)
	}
	c.rc.ReloadState(context.Background())
}

// Do runs any command; its kind comes from its name. Options.ReadConsistency applies to reads.
func (c *Client) Do(ctx context.Context, args ...any) (any, error) {
	return c.DoWith(ctx, "", args...)
}

// DoWith runs a command with a read consistency ("": Options.ReadConsistency).
func (c *Client) DoWith(ctx context.Context, cons Consistency, args ...any) (any, error) {
	name, _ := args[0].(string)
	kind := KindOf(name)
	rc := c.rc
	if kind == Read {
		if cons == "" {
			cons = c.opts.ReadConsistency
		}
		switch cons {
		case Strong:
			c.mu.Lock()
			if c.strong == nil {
				opts := c.clusterOptions(false)
				// Every connection of this client is at the strong level from its first command on.
				opts.OnConnect = func(ctx context.Context, cn *redis.Conn) error { return cn.Do(ctx, "IRIS.CONSISTENCY", "strong").Err() }
				c.strong = redis.NewClusterClient(opts)
			}
			rc = c.strong
			c.mu.Unlock()
		case Eventual:
			c.mu.Lock()
			if c.replicas == nil {
				c.replicas = redis.NewClusterClient(c.clusterOptions(true))
			}
			rc = c.replicas
			c.mu.Unlock()
		}
	}
	var out any
	err := c.run(ctx, strings.ToUpper(name), kind, func(ctx context.Context) error {
		v, err := rc.Do(ctx, args...).Result()
		out = v
		return err
	})
	return out, err
}

// Get returns the value and whether the key exists.
func (c *Client) Get(ctx context.Context, key string) (string, bool, error) {
	v, err := c.Do(ctx, "get", key)
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	s, _ := v.(string)
	return s, true, nil
}

// Set writes key (ttl 0: no expiry).
func (c *Client) Set(ctx context.Context, key, value string, ttl time.Duration) error {
	args := []any{"set", key, value}
	if ttl > 0 {
		args = append(args, "px", ttl.Milliseconds())
	}
	_, err := c.Do(ctx, args...)
	return err
}

// Del deletes keys of one slot; returns how many existed.
func (c *Client) Del(ctx context.Context, keys ...string) (int64, error) {
	args := []any{"del"}
	for _, k := range keys {
		args = append(args, k)
	}
	v, err := c.Do(ctx, args...)
	n, _ := v.(int64)
	return n, err
}

// IncrBy is not retried after an unknown outcome (it is not idempotent).
func (c *Client) IncrBy(ctx context.Context, key string, by int64) (int64, error) {
	v, err := c.Do(ctx, "incrby", key, by)
	n, _ := v.(int64)
	return n, err
}

// Close stops the prober and closes the connections.
func (c *Client) Close() error {
	close(c.stop)
	c.done.Wait()
	if c.strong != nil {
		_ = c.strong.Close()
	}
	if c.replicas != nil {
		_ = c.replicas.Close()
	}
	return c.rc.Close()
}

func (c *Client) run(ctx context.Context, name string, kind Kind, attempt func(context.Context) error) error {
	start := time.Now()
	outcome := NotApplied
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil || errors.Is(err, redis.Nil) {
			c.report(name, kind, start, n, err)
			return err
		}
		cause := err
		var ae *attemptError
		if errors.As(err, &ae) {
			cause = ae.err
		}
		d := ClassifyResp(cause, kind)
		if d.Outcome != NotApplied {
			outcome = d.Outcome
		}
		if d.RefreshMap {
			c.RefreshSlotMap(d.Reason)
		}
		if ctx.Err() != nil {
			e := &Error{Op: name, Outcome: outcome, Attempts: n, Reason: "deadline", Err: ctx.Err()}
			c.report(name, kind, start, n, e)
			return e
		}
		delay := BackoffDelay(n, BackoffOptions{Base: c.opts.Retry.Base, Max: c.opts.Retry.Max}, c.opts.Random)
		dl, hasDl := ctx.Deadline()
		if !d.Retry || n >= c.opts.Retry.MaxAttempts || (hasDl && time.Now().Add(delay).After(dl)) {
			e := &Error{Op: name, Outcome: outcome, Attempts: n, Reason: d.Reason, Err: cause}
			c.report(name, kind, start, n, e)
			return e
		}
		if c.opts.Hooks.OnRetry != nil {
			c.opts.Hooks.OnRetry(name, n, d.Reason, delay)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
	}
}

func (c *Client) report(name string, kind Kind, start time.Time, attempts int, err error) {
	if c.opts.Hooks.OnCommand != nil {
		if errors.Is(err, redis.Nil) {
			err = nil
		}
		c.opts.Hooks.OnCommand(name, kind, time.Since(start), attempts, err)
	}
}
