package iris

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// HTTPOptions of the HTTP API client.
type HTTPOptions struct {
	URLs               []string // node base URLs (http://host:port); any node answers any request
	Username, Password string
	RequestTimeout     time.Duration // one attempt; default 5s
	ReadConsistency    Consistency
	Retry              RetryOptions
	Breaker            BreakerOptions
	Hooks              Hooks
	Transport          http.RoundTripper // TLS and pool limits (MaxConnsPerHost) go here; default a clone of http.DefaultTransport
	Random             func() float64
	Now                func() time.Time
}

// Item is a key with its value, version and expiry (unix ms, 0 = none).
type Item struct {
	Key       []byte
	Value     []byte
	Version   int64
	ExpiresAt int64
}

// HTTPError is a node's error answer.
type HTTPError struct {
	Status  int
	Code    string
	Message string
}

func (e *HTTPError) Error() string { return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message) }

// HTTPClient is a typed client for /v1/kv, /v1/kv:batch and /v1/scan with the retry table and a breaker per URL.
type HTTPClient struct {
	opts     HTTPOptions
	hc       *http.Client
	breakers *breakerSet
	mu       sync.Mutex
	next     int
}

// NewHTTP builds the client.
func NewHTTP(o HTTPOptions) (*HTTPClient, error) {
	if len(o.URLs) == 0 {
		return nil, errors.New("iris.NewHTTP: no URLs")
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = 5 * time.Second
	}
	if o.Retry.MaxAttempts == 0 {
		o.Retry = RetryOptions{MaxAttempts: 8, Base: 50 * time.Millisecond, Max: 500 * time.Millisecond}
	}
	if o.Breaker.FailureThreshold == 0 {
		o.Breaker = DefaultBreaker
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	t := o.Transport
	if t == nil {
		t = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &HTTPClient{opts: o, hc: &http.Client{Transport: t}, breakers: &breakerSet{opts: o.Breaker, now: o.Now, onChange: o.Hooks.OnBreakerStateChange, m: map[string]*Breaker{}}}, nil
}

type wireItem struct {
	Key           string `json:"key"`
	KeyEncoding   string `json:"keyEncoding"`
	Value         string `json:"value"`
	ValueEncoding string `json:"valueEncoding"`
	Version       int64  `json:"version"`
	ExpiresAt     *int64 `json:"expiresAt"`
}

func fromWire(s, enc string) []byte {
	if enc == "base64" {
		b, _ := base64.StdEncoding.DecodeString(s)
		return b
	}
	return []byte(s)
}

func (w wireItem) item() Item {
	it := Item{Key: fromWire(w.Key, w.KeyEncoding), Value: fromWire(w.Value, w.ValueEncoding), Version: w.Version}
	if w.ExpiresAt != nil {
		it.ExpiresAt = *w.ExpiresAt
	}
	return it
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func (c *HTTPClient) consistency(cons Consistency) string {
	if cons == "" {
		cons = c.opts.ReadConsistency
	}
	if cons == "" {
		cons = Default
	}
	return string(cons)
}

// Get returns the item, or found=false.
func (c *HTTPClient) Get(ctx context.Context, key []byte, cons Consistency) (Item, bool, error) {
	q := url.Values{"format": {"json"}, "encoding": {"base64"}, "keyEncoding": {"base64"}, "consistency": {c.consistency(cons)}}
	var w wireItem
	status, err := c.do(ctx, "GET", "/v1/kv/"+url.PathEscape(b64(key))+"?"+q.Encode(), nil, nil, Read, &w, 404)
	if err != nil || status == 404 {
		return Item{}, false, err
	}
	return w.item(), true, nil
}

// PutOptions: TTL (0 = none), compare-and-set on a version, create-only.
type PutOptions struct {
	TTL       time.Duration
	IfVersion int64
	IfAbsent  bool
}

// Put writes key and returns its new version.
func (c *HTTPClient) Put(ctx context.Context, key, value []byte, o PutOptions) (int64, error) {
	q := url.Values{"keyEncoding": {"base64"}}
	if o.TTL > 0 {
		q.Set("ttlMs", strconv.FormatInt(o.TTL.Milliseconds(), 10))
	}
	h := map[string]string{"content-type": "application/octet-stream"}
	if o.IfVersion > 0 {
		h["if-match"] = `"` + strconv.FormatInt(o.IfVersion, 10) + `"`
	}
	if o.IfAbsent {
		h["if-none-match"] = "*"
	}
	var r struct {
		Version int64 `json:"version"`
	}
	_, err := c.do(ctx, "PUT", "/v1/kv/"+url.PathEscape(b64(key))+"?"+q.Encode(), value, h, Write, &r)
	return r.Version, err
}

// Delete reports whether the key existed.
func (c *HTTPClient) Delete(ctx context.Context, key []byte) (bool, error) {
	var r struct {
		Deleted bool `json:"deleted"`
	}
	_, err := c.do(ctx, "DELETE", "/v1/kv/"+url.PathEscape(b64(key))+"?keyEncoding=base64", nil, nil, Write, &r)
	return r.Deleted, err
}

// BatchOp is one operation of an atomic batch (keys of one slot).
type BatchOp struct {
	Op        string // get, put, delete
	Key       []byte
	Value     []byte
	TTL       time.Duration
	IfVersion int64
	IfAbsent  bool
}

// BatchResult is one operation's result.
type BatchResult struct {
	Op      string
	Found   bool
	Item    Item
	Version int64
	Deleted bool
}

// Batch applies ops atomically; a batch of gets only is a read.
func (c *HTTPClient) Batch(ctx context.Context, ops []BatchOp, cons Consistency) ([]BatchResult, error) {
	kind := Read
	wire := make([]map[string]any, 0, len(ops))
	for _, op := range ops {
		w := map[string]any{"op": op.Op, "key": b64(op.Key), "keyEncoding": "base64"}
		switch op.Op {
		case "put":
			kind = Write
			w["value"], w["valueEncoding"] = b64(op.Value), "base64"
			if op.TTL > 0 {
				w["ttlMs"] = op.TTL.Milliseconds()
			}
		case "get":
			w["valueEncoding"] = "base64"
		default:
			kind = Write
		}
		if op.IfVersion > 0 {
			w["ifVersion"] = op.IfVersion
		}
		if op.IfAbsent {
			w["ifAbsent"] = true
		}
		wire = append(wire, w)
	}
	body, _ := json.Marshal(map[string]any{"ops": wire})
	path := "/v1/kv:batch"
	if kind == Read {
		path += "?consistency=" + c.consistency(cons)
	}
	var r struct {
		Results []struct {
			wireItem
			Op      string `json:"op"`
			Found   bool   `json:"found"`
			Deleted bool   `json:"deleted"`
		} `json:"results"`
	}
	if _, err := c.do(ctx, "POST", path, body, map[string]string{"content-type": "application/json"}, kind, &r); err != nil {
		return nil, err
	}
	out := make([]BatchResult, len(r.Results))
	for i, x := range r.Results {
		out[i] = BatchResult{Op: x.Op, Found: x.Found, Version: x.Version, Deleted: x.Deleted}
		if x.Op == "get" && x.Found {
			out[i].Item = x.item()
		}
	}
	return out, nil
}

// Scan calls fn for every key with the prefix, page by page; fn returning false stops.
func (c *HTTPClient) Scan(ctx context.Context, prefix []byte, pageSize int, cons Consistency, fn func(Item) bool) error {
	cursor := ""
	for {
		q := url.Values{"encoding": {"base64"}, "limit": {strconv.Itoa(pageSize)}, "prefix": {b64(prefix)}, "keyEncoding": {"base64"}, "consistency": {c.consistency(cons)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var page struct {
			Items  []wireItem `json:"items"`
			Cursor *string    `json:"cursor"`
		}
		if _, err := c.do(ctx, "GET", "/v1/scan?"+q.Encode(), nil, nil, Read, &page); err != nil {
			return err
		}
		for _, w := range page.Items {
			if !fn(w.item()) {
				return nil
			}
		}
		if page.Cursor == nil {
			return nil
		}
		cursor = *page.Cursor
	}
}

// BreakerStates by URL.
func (c *HTTPClient) BreakerStates() map[string]BreakerState { return c.breakers.states() }

func (c *HTTPClient) pick() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.opts.URLs {
		u := c.opts.URLs[(c.next+i)%len(c.opts.URLs)]
		if c.breakers.get(u).Allow() {
			c.next = (c.next + i) % len(c.opts.URLs)
			return u, true
		}
	}
	return "", false
}

func (c *HTTPClient) skip() {
	c.mu.Lock()
	c.next++
	c.mu.Unlock()
}

func (c *HTTPClient) do(ctx context.Context, method, path string, body []byte, headers map[string]string, kind Kind, out any, okStatuses ...int) (int, error) {
	start := time.Now()
	outcome := NotApplied
	for n := 1; ; n++ {
		status, err, d := c.attempt(ctx, method, path, body, headers, kind, out, okStatuses)
		if err == nil {
			if c.opts.Hooks.OnCommand != nil {
				c.opts.Hooks.OnCommand(method+" "+path, kind, time.Since(start), n, nil)
			}
			return status, nil
		}
		if d.Outcome != NotApplied {
			outcome = d.Outcome
		}
		delay := BackoffDelay(n, BackoffOptions{Base: c.opts.Retry.Base, Max: c.opts.Retry.Max}, c.opts.Random)
		dl, hasDl := ctx.Deadline()
		if ctx.Err() != nil || !d.Retry || n >= c.opts.Retry.MaxAttempts || (hasDl && time.Now().Add(delay).After(dl)) {
			reason := d.Reason
			if ctx.Err() != nil {
				reason, err = "deadline", ctx.Err()
			}
			e := &Error{Op: method + " " + path, Outcome: outcome, Attempts: n, Reason: reason, Err: err}
			if c.opts.Hooks.OnCommand != nil {
				c.opts.Hooks.OnCommand(method+" "+path, kind, time.Since(start), n, e)
			}
			return status, e
		}
		if c.opts.Hooks.OnRetry != nil {
			c.opts.Hooks.OnRetry(method+" "+path, n, d.Reason, delay)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
	}
}

func (c *HTTPClient) attempt(ctx context.Context, method, path string, body []byte, headers map[string]string, kind Kind, out any, okStatuses []int) (int, error, Decision) {
	base, ok := c.pick()
	if !ok {
		err := &CircuitOpenError{Node: "every URL"}
		return 0, err, ClassifyHTTPTransport(err, kind)
	}
	b := c.breakers.get(base)
	actx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, base+path, rd)
	if err != nil {
		return 0, err, Decision{Outcome: NotApplied, Reason: "bad_request"}
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if c.opts.Password != "" {
		user := c.opts.Username
		if user == "" {
			user = "default"
		}
		req.SetBasicAuth(user, c.opts.Password)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		d := ClassifyHTTPTransport(err, kind)
		if d.NodeFailure {
			b.Failure()
			c.skip()
		}
		return 0, err, d
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		b.Failure()
		return res.StatusCode, err, ClassifyHTTPTransport(err, kind)
	}
	okStatus := res.StatusCode >= 200 && res.StatusCode < 300
	for _, s := range okStatuses {
		okStatus = okStatus || s == res.StatusCode
	}
	if okStatus {
		b.Success()
		if res.StatusCode < 300 && out != nil && len(data) > 0 {
			if err := json.Unmarshal(data, out); err != nil {
				return res.StatusCode, err, Decision{Outcome: Unknown, Reason: "bad_response"}
			}
		}
		return res.StatusCode, nil, Decision{}
	}
	var eb struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(data, &eb)
	d := ClassifyHTTPStatus(res.StatusCode, eb.Error.Code, kind)
	if d.NodeFailure {
		b.Failure()
		c.skip()
	} else {
		b.Success()
	}
	return res.StatusCode, &HTTPError{Status: res.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}, d
}
