package format

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/streamsql/streamsql/connectors/internal/opts"
	"github.com/streamsql/streamsql/exec/batch"
)

// avro-confluent: Avro records framed as the Confluent Schema Registry
// serializers do (magic byte 0, the writer schema's id as 4 big-endian
// bytes, the Avro binary record). The sink registers the derived schema
// under the subject; the source fetches writer schemas by id, cached.

// Target tells a format where its records go or come from. Connectors
// that have topics (kafka, upsert-kafka) pass it to NewFor; others use New.
type Target struct {
	// Topic is the Kafka topic. avro-confluent's default subject is
	// "<topic>-value", or "<topic>-key" for a key format.
	Topic string
	// Key is set for the format of the message key ('key.format').
	Key bool
}

type confluentOptions struct {
	urls    []string
	subject string
	user    string // basic auth (USER_INFO)
	pass    string
	token   string // bearer auth (STATIC_TOKEN)
}

func parseConfluentOptions(table, prefix string, own map[string]string, target Target) (confluentOptions, avroOptions, error) {
	var o confluentOptions
	ao := avroOptions{codec: "null", legacyTimestamps: true}
	plain := map[string]string{}
	for k, v := range own {
		if !strings.HasPrefix(k, "properties.") { // Flink's map option of client properties
			plain[k] = v
		}
	}
	if err := checkKnown(table, prefix, plain, "url", "schema-registry.url", "subject", "schema-registry.subject",
		"ignore-parse-errors", "timestamp_mapping.legacy", "basic-auth.credentials-source", "basic-auth.user-info",
		"bearer-auth.credentials-source", "bearer-auth.token", "schema", "ssl.keystore.location",
		"ssl.keystore.password", "ssl.truststore.location", "ssl.truststore.password"); err != nil {
		return o, ao, err
	}
	var err error
	rawURL, urlKey := own["url"], prefix+"url"
	if rawURL == "" {
		rawURL, urlKey = own["schema-registry.url"], prefix+"schema-registry.url"
	}
	if strings.TrimSpace(rawURL) == "" {
		return o, ao, opts.Errorf(table, prefix+"url", "required option is missing (the schema registry's URL)")
	}
	for _, u := range strings.Split(rawURL, ",") {
		pu, err := url.Parse(strings.TrimSpace(u))
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return o, ao, opts.Errorf(table, urlKey, "invalid URL '%s' (expected http://host:port)", strings.TrimSpace(u))
		}
		o.urls = append(o.urls, strings.TrimSuffix(pu.String(), "/"))
	}
	o.subject = own["subject"]
	if o.subject == "" {
		o.subject = own["schema-registry.subject"]
	}
	if o.subject == "" && target.Topic != "" {
		o.subject = target.Topic + "-value"
		if target.Key {
			o.subject = target.Topic + "-key"
		}
	}
	credSource := "URL"
	if v, ok := own["basic-auth.credentials-source"]; ok {
		credSource = strings.ToUpper(strings.TrimSpace(v))
		if credSource != "USER_INFO" && credSource != "URL" {
			return o, ao, opts.Errorf(table, prefix+"basic-auth.credentials-source", "invalid value '%s' (expected USER_INFO or URL)", v)
		}
	}
	if v, ok := own["basic-auth.user-info"]; ok {
		if credSource != "USER_INFO" {
			return o, ao, opts.Errorf(table, prefix+"basic-auth.user-info", "needs '%sbasic-auth.credentials-source' = 'USER_INFO'", prefix)
		}
		var found bool
		if o.user, o.pass, found = strings.Cut(v, ":"); !found {
			return o, ao, opts.Errorf(table, prefix+"basic-auth.user-info", "expected 'user:password'")
		}
	}
	if v, ok := own["bearer-auth.credentials-source"]; ok && !strings.EqualFold(strings.TrimSpace(v), "STATIC_TOKEN") {
		return o, ao, opts.Errorf(table, prefix+"bearer-auth.credentials-source", "not supported yet: '%s' (only STATIC_TOKEN)", v)
	}
	o.token = own["bearer-auth.token"]
	for _, k := range opts.SortedKeys(own) {
		v, key := own[k], prefix+k
		switch {
		case k == "ignore-parse-errors":
			ao.ignoreParseErrors, err = opts.Bool(table, key, v)
		case k == "timestamp_mapping.legacy":
			ao.legacyTimestamps, err = opts.Bool(table, key, v)
		case k == "schema":
			err = opts.Errorf(table, key, "not supported yet: an explicit schema (the schema is derived from the table's columns)")
		case strings.HasPrefix(k, "ssl."), strings.HasPrefix(k, "properties."):
			err = opts.NotSupported(table, key)
		}
		if err != nil {
			return o, ao, err
		}
	}
	return o, ao, nil
}

// registry is a Schema Registry client shared by a Format's decoders
// and encoders (which run on several goroutines), with the schemas it
// has fetched and the id it has registered.
type registry struct {
	o      confluentOptions
	f      *Format
	client *http.Client

	mu       sync.Mutex
	byID     map[uint32]idEntry
	id       uint32
	haveID   bool
	requests int // HTTP requests made (tests check the cache)
}

type idEntry struct {
	plan *avroPlan
	err  error // a permanent failure: unknown id, unreadable schema
}

// errRegistry marks failures to reach the registry (as opposed to records
// that name a schema it does not have): they fail the job even with
// ignore-parse-errors.
var errRegistry = errors.New("schema registry")

func (r *registry) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	var last error
	for _, base := range r.o.urls {
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, fmt.Errorf("%w: %v", errRegistry, err)
		}
		req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
		}
		if r.o.user != "" {
			req.SetBasicAuth(r.o.user, r.o.pass)
		} else if r.o.token != "" {
			req.Header.Set("Authorization", "Bearer "+r.o.token)
		}
		r.mu.Lock()
		r.requests++
		r.mu.Unlock()
		resp, err := r.client.Do(req)
		if err != nil {
			last = err
			continue
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if err != nil {
			last = err
			continue
		}
		return resp.StatusCode, data, nil
	}
	return 0, nil, fmt.Errorf("%w at %s: %v", errRegistry, strings.Join(r.o.urls, ","), last)
}

// registryMessage is the "message" of a registry error response.
func registryMessage(status int, data []byte) string {
	var e struct {
		Code    int    `json:"error_code"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &e) == nil && e.Message != "" {
		return fmt.Sprintf("%s (HTTP %d, error code %d)", e.Message, status, e.Code)
	}
	return fmt.Sprintf("HTTP %d: %.200s", status, data)
}

// plan returns the decoding plan of writer schema id, fetching it once.
func (r *registry) plan(id uint32) (*avroPlan, error) {
	r.mu.Lock()
	e, ok := r.byID[id]
	r.mu.Unlock()
	if ok {
		return e.plan, e.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	status, data, err := r.do(ctx, http.MethodGet, "/schemas/ids/"+strconv.FormatUint(uint64(id), 10), nil)
	if err != nil {
		return nil, err // not cached: the registry may come back
	}
	switch {
	case status == http.StatusNotFound:
		e.err = &ParseError{Msg: fmt.Sprintf("schema id %d is not in the schema registry: %s", id, registryMessage(status, data))}
	case status != http.StatusOK:
		return nil, fmt.Errorf("%w: fetching schema id %d: %s", errRegistry, id, registryMessage(status, data))
	default:
		var resp struct {
			Schema     string `json:"schema"`
			SchemaType string `json:"schemaType"`
		}
		if err := json.Unmarshal(data, &resp); err != nil || resp.Schema == "" {
			return nil, fmt.Errorf("%w: fetching schema id %d: unexpected response %.200s", errRegistry, id, data)
		}
		if resp.SchemaType != "" && resp.SchemaType != "AVRO" {
			e.err = &ParseError{Msg: fmt.Sprintf("schema id %d is a %s schema, not Avro", id, resp.SchemaType)}
		} else if e.plan, err = planFromWriter(resp.Schema, r.f.schema); err != nil {
			e.err = &ParseError{Msg: fmt.Sprintf("schema id %d: %v", id, err)}
		}
	}
	r.mu.Lock()
	r.byID[id] = e
	r.mu.Unlock()
	return e.plan, e.err
}

// register registers the derived schema under the subject, once.
func (r *registry) register(ctx context.Context) (uint32, error) {
	r.mu.Lock()
	if r.haveID {
		defer r.mu.Unlock()
		return r.id, nil
	}
	r.mu.Unlock()
	if r.o.subject == "" {
		return 0, opts.Errorf(r.f.table, "avro-confluent.subject", "required option is missing (no topic to derive '<topic>-value' from)")
	}
	body, _ := json.Marshal(map[string]string{"schema": r.f.avroSchema})
	status, data, err := r.do(ctx, http.MethodPost, "/subjects/"+url.PathEscape(r.o.subject)+"/versions", body)
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("%w: registering the table's schema under subject '%s': %s", errRegistry, r.o.subject, registryMessage(status, data))
	}
	var resp struct {
		ID *int64 `json:"id"`
	}
	if err := json.Unmarshal(data, &resp); err != nil || resp.ID == nil || *resp.ID < 0 || *resp.ID > 1<<32-1 {
		return 0, fmt.Errorf("%w: registering under subject '%s': unexpected response %.200s", errRegistry, r.o.subject, data)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.id, r.haveID = uint32(*resp.ID), true
	return r.id, nil
}

type confluentDecoder struct {
	reg      *registry
	lastID   uint32
	lastPlan *avroPlan
}

// Decode reads a Confluent-framed record with the writer schema its id
// names.
func (d *confluentDecoder) Decode(rec []byte, into *RowBuilder) error {
	if len(rec) < 5 {
		return &ParseError{Msg: fmt.Sprintf("malformed Confluent Avro record: %d bytes, shorter than the 5-byte header", len(rec))}
	}
	if rec[0] != 0 {
		return &ParseError{Msg: fmt.Sprintf("malformed Confluent Avro record: magic byte %d, expected 0 (not written by a Schema Registry serializer)", rec[0])}
	}
	id := binary.BigEndian.Uint32(rec[1:5])
	p := d.lastPlan
	if p == nil || id != d.lastID {
		var err error
		if p, err = d.reg.plan(id); err != nil {
			return err
		}
		d.lastID, d.lastPlan = id, p
	}
	return decodeAvroRecord(p, rec[5:], into)
}

type confluentEncoder struct {
	header [5]byte
	avro   *avroEncoder
}

func (e *confluentEncoder) Encode(dst []byte, b batch.Batch, row int) []byte {
	dst = append(dst, e.header[:]...)
	return e.avro.Encode(dst, b, row)
}

// OpenEncoder returns an encoder after whatever setup the format needs:
// avro-confluent registers the table's schema under its subject (once
// per Format; the id is kept). Sinks call it in Open. For every other
// format it is NewEncoder.
func (f *Format) OpenEncoder(ctx context.Context) (Encoder, error) {
	if f.reg == nil {
		return f.NewEncoder(), nil
	}
	id, err := f.reg.register(ctx)
	if err != nil {
		return nil, fmt.Errorf("avro-confluent: %w", err)
	}
	e := &confluentEncoder{avro: newAvroEncoder(f.avroPlan)}
	binary.BigEndian.PutUint32(e.header[1:], id)
	return e, nil
}

// Subject is avro-confluent's subject ("" for other formats, or when it
// is neither set nor derivable from a topic).
func (f *Format) Subject() string {
	if f.reg == nil {
		return ""
	}
	return f.reg.o.subject
}
