package iris

// The breaker's edges: the node hook that applies each node's breaker and
// hides unknown-outcome failures from go-redis's own resends, and the
// prober that gives open breakers their trial.

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// prober: while a breaker is open, refresh the map and PING due nodes on a fresh connection (the pooled ones may sit behind a paused process).
func (c *Client) prober() {
	defer c.done.Done()
	t := time.NewTicker(c.opts.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		anyOpen := false
		for node, st := range c.breakers.states() {
			if st == Closed {
				continue
			}
			anyOpen = true
			b := c.breakers.get(node)
			// Open with its period over, or half-open with no trial in flight (a request's trial was abandoned).
			if b.Allow() {
				go func(node string, b *Breaker) {
					if c.ping(node) {
						b.Success()
					} else {
						b.Failure()
					}
				}(node, b)
			}
		}
		if anyOpen {
			c.RefreshSlotMap("breaker_open")
		}
	}
}

func (c *Client) ping(addr string) bool {
	o := c.opts
	r := redis.NewClient(&redis.Options{Addr: addr, Username: o.Username, Password: o.Password, TLSConfig: o.TLSConfig,
		DialTimeout: o.DialTimeout, ReadTimeout: o.CommandTimeout, WriteTimeout: o.CommandTimeout, MaxRetries: -1, PoolSize: 1})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), o.DialTimeout+o.CommandTimeout)
	defer cancel()
	return r.Ping(ctx).Err() == nil
}

// nodeHook applies the node's breaker and hides unknown-outcome failures from go-redis's retries.
type nodeHook struct {
	c    *Client
	addr string
}

func (h *nodeHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *nodeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		b := h.c.breakers.get(h.addr)
		if !b.Allow() {
			err := &CircuitOpenError{Node: h.addr}
			cmd.SetErr(err)
			return err
		}
		err := next(ctx, cmd)
		if err == nil || errors.Is(err, redis.Nil) {
			b.Success()
			return err
		}
		d := ClassifyResp(err, KindOf(cmd.Name()))
		var reply redis.Error
		switch {
		case d.NodeFailure:
			b.Failure()
		case errors.As(err, &reply):
			b.Success() // an error reply is an answer: the node is alive
		default:
			b.Abandon()
		}
		if d.Outcome == Unknown {
			wrapped := &attemptError{err: err}
			cmd.SetErr(wrapped)
			return wrapped
		}
		return err
	}
}

func (h *nodeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
