package expr

import (
	"testing"
	"time"
)

func TestTimeFunctions(t *testing.T) {
	// ts: 2024-03-15 10:20:30.123, 1999-12-31 23:59:59, 2024-01-01 00:00:00, NULL
	// dt: 2024-03-15, 2000-02-29, 1970-01-01, NULL
	runEvalCases(t, []evalCase{
		{"EXTRACT(YEAR FROM ts)", i64s(int64(2024), int64(1999), int64(2024), nil)},
		{"EXTRACT(MONTH FROM dt)", i64s(int64(3), int64(2), int64(1), nil)},
		{"EXTRACT(DAY FROM ts)", i64s(int64(15), int64(31), int64(1), nil)},
		{"EXTRACT(HOUR FROM ts)", i64s(int64(10), int64(23), int64(0), nil)},
		{"EXTRACT(SECOND FROM ts)", i64s(int64(30), int64(59), int64(0), nil)},
		{"EXTRACT(MILLISECOND FROM ts)", i64s(int64(30123), int64(59000), int64(0), nil)},
		{"EXTRACT(DOW FROM dt)", i64s(int64(6), int64(3), int64(5), nil)},
		{"EXTRACT(DOY FROM dt)", i64s(int64(75), int64(60), int64(1), nil)},
		{"EXTRACT(EPOCH FROM ltz)", i64s(int64(1710498030), int64(0), int64(0), nil)},
		{"YEAR(dt)", i64s(int64(2024), int64(2000), int64(1970), nil)},
		{"QUARTER(ts)", i64s(int64(1), int64(4), int64(1), nil)},
		{"MONTH(ts)", i64s(int64(3), int64(12), int64(1), nil)},
		{"WEEK(dt)", i64s(int64(11), int64(9), int64(1), nil)},
		{"WEEK(DATE '2021-01-03')", same(int64(53))},
		{"DAYOFMONTH(ts)", i64s(int64(15), int64(31), int64(1), nil)},
		{"DAYOFWEEK(ts)", i64s(int64(6), int64(6), int64(2), nil)},
		{"DAYOFYEAR(ts)", i64s(int64(75), int64(365), int64(1), nil)},
		{"HOUR(ts)", i64s(int64(10), int64(23), int64(0), nil)},
		{"MINUTE(ts)", i64s(int64(20), int64(59), int64(0), nil)},
		{"SECOND(ts)", i64s(int64(30), int64(59), int64(0), nil)},
		{"ts + INTERVAL '1' SECOND", i64s(mustTS("2024-03-15 10:20:31.123"), mustTS("2000-01-01 00:00:00"), mustTS("2024-01-01 00:00:01"), nil)},
		{"ts - INTERVAL '1' DAY", i64s(mustTS("2024-03-14 10:20:30.123"), mustTS("1999-12-30 23:59:59"), mustTS("2023-12-31 00:00:00"), nil)},
		{"dt + INTERVAL '2' DAY", i64s(mustDate("2024-03-17"), mustDate("2000-03-02"), mustDate("1970-01-03"), nil)},
		{"DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss')", i64s("2024-03-15 10:20:30", "1999-12-31 23:59:59", "2024-01-01 00:00:00", nil)},
		{"DATE_FORMAT(ts, 'yyyyMMdd''T''HH.SSS')", i64s("20240315T10.123", "19991231T23.000", "20240101T00.000", nil)},
		{"DATE_FORMAT(ts, 'EEE, d MMM yy h:mm a')", i64s("Fri, 15 Mar 24 10:20 AM", "Fri, 31 Dec 99 11:59 PM", "Mon, 1 Jan 24 12:00 AM", nil)},
		{"DATE_FORMAT('2024-05-06 07:08:09', 'dd/MM/yyyy')", same("06/05/2024")},
		{"DATE_FORMAT(dt, 'yyyy/MM')", i64s("2024/03", "2000/02", "1970/01", nil)},
		{"TO_TIMESTAMP('2024-05-06 07:08:09')", same(mustTS("2024-05-06 07:08:09"))},
		{"TO_TIMESTAMP('2024-05-06 07:08:09.123456')", same(mustTS("2024-05-06 07:08:09.123"))},
		{"TO_TIMESTAMP('06/05/2024 7:08', 'dd/MM/yyyy H:mm')", same(mustTS("2024-05-06 07:08:00"))},
		{"TO_TIMESTAMP('20240506', 'yyyyMMdd')", same(mustTS("2024-05-06 00:00:00"))},
		{"TO_TIMESTAMP('garbage')", same(nil)},
		{"TO_TIMESTAMP(s)", i64s(nil, nil, nil, nil)},
		{"TO_DATE('2024-05-06')", same(mustDate("2024-05-06"))},
		{"TO_DATE('06.05.2024', 'dd.MM.yyyy')", same(mustDate("2024-05-06"))},
		{"TO_TIMESTAMP_LTZ(1710498030, 0)", same(mustTS("2024-03-15 10:20:30"))},
		{"TO_TIMESTAMP_LTZ(1710498030123, 3)", same(mustTS("2024-03-15 10:20:30.123"))},
		{"TO_TIMESTAMP_LTZ(1.5, 0)", same(int64(1_500_000))},
		{"FROM_UNIXTIME(86400)", same("1970-01-02 00:00:00")},
		{"FROM_UNIXTIME(86400, 'yyyy')", same("1970")},
		{"UNIX_TIMESTAMP('1970-01-02 00:00:00')", same(int64(86400))},
		{"UNIX_TIMESTAMP('1970-01-02', 'yyyy-MM-dd')", same(int64(86400))},
		{"TIMESTAMPADD(MONTH, 1, DATE '2024-01-31')", same(mustDate("2024-02-29"))},
		{"TIMESTAMPADD(HOUR, 2, ts)", i64s(mustTS("2024-03-15 12:20:30.123"), mustTS("2000-01-01 01:59:59"), mustTS("2024-01-01 02:00:00"), nil)},
		{"TIMESTAMPADD(YEAR, -1, ts)", i64s(mustTS("2023-03-15 10:20:30.123"), mustTS("1998-12-31 23:59:59"), mustTS("2023-01-01 00:00:00"), nil)},
		{"TIMESTAMPDIFF(DAY, dt, DATE '2024-03-16')", i64s(int32(1), int32(8782), int32(19798), nil)},
		{"TIMESTAMPDIFF(MONTH, TIMESTAMP '2024-01-31 00:00:00', TIMESTAMP '2024-02-29 00:00:00')", same(int32(0))},
		{"TIMESTAMPDIFF(MONTH, TIMESTAMP '2024-01-15 00:00:00', TIMESTAMP '2024-03-15 00:00:00')", same(int32(2))},
		{"TIMESTAMPDIFF(YEAR, dt, DATE '2024-03-15')", i64s(int32(0), int32(24), int32(54), nil)},
		{"CURRENT_TIMESTAMP", same(mustTS("2024-06-01 12:30:45.678"))},
		{"NOW()", same(mustTS("2024-06-01 12:30:45.678"))},
		{"CURRENT_TIMESTAMP()", same(mustTS("2024-06-01 12:30:45.678"))},
		{"PROCTIME()", same(mustTS("2024-06-01 12:30:45.678"))},
		{"LOCALTIMESTAMP", same(mustTS("2024-06-01 12:30:45.678"))},
		{"CURRENT_DATE", same(mustDate("2024-06-01"))},
		{"UNIX_TIMESTAMP()", same(mustTS("2024-06-01 12:30:45") / 1_000_000)},
		// Per-batch values are scalars: scalar-scalar arithmetic paths.
		{"UNIX_TIMESTAMP() + 1", same(mustTS("2024-06-01 12:30:46") / 1_000_000)},
		{"2 * UNIX_TIMESTAMP() - UNIX_TIMESTAMP()", same(mustTS("2024-06-01 12:30:45") / 1_000_000)},
		{"UNIX_TIMESTAMP() / 86400 > 0", same(true)},
		{"UNIX_TIMESTAMP() > a", same(true)},
		{"CURRENT_TIMESTAMP - INTERVAL '1' HOUR", same(mustTS("2024-06-01 11:30:45.678"))},
	})
}

func TestTimeTypes(t *testing.T) {
	cases := []struct{ sql, want string }{
		{"CURRENT_TIMESTAMP", "TIMESTAMP_LTZ(3) NOT NULL"},
		{"PROCTIME()", "TIMESTAMP_LTZ(3) NOT NULL"},
		{"LOCALTIMESTAMP", "TIMESTAMP(3) NOT NULL"},
		{"CURRENT_DATE", "DATE NOT NULL"},
		{"TO_TIMESTAMP(s)", "TIMESTAMP(3)"},
		{"TO_TIMESTAMP_LTZ(a, 3)", "TIMESTAMP_LTZ(3) NOT NULL"},
		{"EXTRACT(YEAR FROM ts)", "BIGINT"},
		{"TIMESTAMP '2024-01-01 00:00:00'", "TIMESTAMP(0) NOT NULL"},
		{"TIMESTAMP '2024-01-01 00:00:00.123'", "TIMESTAMP(3) NOT NULL"},
	}
	for _, c := range cases {
		e, err := bindSQL(t, c.sql)
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		if got := e.Type().String(); got != c.want {
			t.Errorf("%s: %s, want %s", c.sql, got, c.want)
		}
	}
}

func TestClockIsPerBatch(t *testing.T) {
	calls := 0
	env := &EvalEnv{Now: func() time.Time {
		calls++
		return time.Unix(int64(calls), 0)
	}, Location: time.UTC}
	e, err := bindSQL(t, "CURRENT_TIMESTAMP")
	if err != nil {
		t.Fatal(err)
	}
	// The second expression reads the clock inside a lazily evaluated
	// CASE branch (a subset of the rows): still the same reading.
	lazy, err := bindSQL(t, "CASE WHEN b = 0 THEN CURRENT_TIMESTAMP ELSE CAST(a / b AS TIMESTAMP_LTZ(3)) END")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile([]Expr{lazy, e}, env)
	if err != nil {
		t.Fatal(err)
	}
	rec := testRecord()
	defer rec.Release()
	for batchNo := 1; batchNo <= 2; batchNo++ {
		out, err := p.Eval(rec)
		if err != nil {
			t.Fatal(err)
		}
		v0, _ := fromArrow(out[0])
		v1, _ := fromArrow(out[1])
		// One clock reading per batch, shared by every expression.
		if calls != batchNo || v1.i64[0] != int64(batchNo)*1_000_000 || v0.i64[1] != v1.i64[0] {
			t.Fatalf("batch %d: calls=%d values %d %d", batchNo, calls, v1.i64[0], v0.i64[1])
		}
		for _, a := range out {
			a.Release()
		}
	}
}

func TestSessionZone(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	env := &EvalEnv{Now: testEnv.Now, Location: loc}
	cases := []evalCase{
		{"HOUR(ltz)", i64s(int64(6), int64(19), int64(19), nil)},
		{"DATE_FORMAT(ltz, 'yyyy-MM-dd HH:mm')", i64s("2024-03-15 06:20", "1969-12-31 19:00", "1969-12-31 19:00", nil)},
		{"LOCALTIMESTAMP", same(mustTS("2024-06-01 08:30:45.678"))},
		{"FROM_UNIXTIME(0)", same("1969-12-31 19:00:00")},
		{"UNIX_TIMESTAMP('1969-12-31 19:00:00')", same(int64(0))},
		{"CAST(ltz AS DATE)", i64s(mustDate("2024-03-15"), mustDate("1969-12-31"), mustDate("1969-12-31"), nil)},
	}
	for _, c := range cases {
		got, _, err := evalSQLEnv(t, c.sql, env)
		if err != nil {
			t.Errorf("%s: %v", c.sql, err)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s = %v, want %v", c.sql, got, c.want)
				break
			}
		}
	}
}
