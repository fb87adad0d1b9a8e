package nexmark

import (
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Shared, read-only lookup data: random text to slice strings from, the
// channel names and URLs, and the price table. The Factory builds it on
// first use (not at package init, so programs that only link the connector
// pay nothing); it is never modified afterwards, so every subtask can read
// it unlocked.

const (
	// textSpan is the range of start offsets for slices of text and
	// letters; the buffers are longer, so a slice up to the slack starting
	// anywhere in the span needs no wrap-around.
	textSpan    = 1 << 16
	textSlack   = 128
	letterSlack = 4096

	numChannels    = 10000
	numHotChannels = 4
)

// The reference's word lists.
const (
	firstNameList = "Peter,Paul,Luke,John,Saul,Vicky,Kate,Julie,Sarah,Deiter,Walter"
	lastNameList  = "Shultz,Abrams,Spencer,White,Bartels,Walton,Smith,Jones,Noris"
	stateList     = "AZ,CA,ID,OR,WA,WY"
	cityList      = "Phoenix,Los Angeles,San Francisco,Boise,Portland,Bend,Redmond,Seattle,Kent,Cheyenne"
	hotChanList   = "Google,Facebook,Baidu,Apple"
)

func words(list string) [][]byte {
	var out [][]byte
	for _, w := range strings.Split(list, ",") {
		out = append(out, []byte(w))
	}
	return out
}

type tables struct {
	// text is lower-case letters with a space at about 1 in 13 (the
	// reference's random strings); letters has letters only (its padding).
	text, letters []byte
	// Channel c's name and URL are chanData[chanOff[2c]:chanOff[2c+1]] and
	// chanData[chanOff[2c+1]:chanOff[2c+2]].
	chanData          []byte
	chanOff           []int32
	hotNames, hotURLs [][]byte
	maxURL, avgURL    int

	firstNames, lastNames, states, cities [][]byte
	// pow10[i] is 10^(6*i/2^10) and pow10f[j] 10^(6*j/2^20): the coarse
	// and fine parts of a log-uniform price.
	pow10, pow10f [1024]float64
}

func buildTables() *tables {
	t := &tables{firstNames: words(firstNameList), lastNames: words(lastNameList),
		states: words(stateList), cities: words(cityList), hotNames: words(hotChanList)}
	r := rng{s: 0x6E65786D61726B} // fixed: the tables are the same everywhere
	t.text = make([]byte, textSpan+textSlack)
	for i := range t.text {
		if r.below(13) == 0 {
			t.text[i] = ' '
		} else {
			t.text[i] = byte('a' + r.below(26))
		}
	}
	t.letters = make([]byte, textSpan+letterSlack)
	for i := range t.letters {
		t.letters[i] = byte('a' + r.below(26))
	}
	hotSum, chanSum := 0, 0
	for range numHotChannels {
		u := baseURL(nil, &r)
		t.hotURLs = append(t.hotURLs, u)
		t.maxURL = max(t.maxURL, len(u))
		hotSum += len(u)
	}
	t.chanOff = make([]int32, 0, 2*numChannels+1)
	t.chanOff = append(t.chanOff, 0)
	for c := range numChannels {
		t.chanData = append(t.chanData, "channel-"...)
		t.chanData = strconv.AppendInt(t.chanData, int64(c), 10)
		t.chanOff = append(t.chanOff, int32(len(t.chanData)))
		start := len(t.chanData)
		t.chanData = baseURL(t.chanData, &r)
		if r.below(10) > 0 {
			t.chanData = append(t.chanData, "&channel_id="...)
			t.chanData = strconv.AppendInt(t.chanData, abs64(int64(reverse32(int32(c)))), 10)
		}
		t.chanOff = append(t.chanOff, int32(len(t.chanData)))
		t.maxURL = max(t.maxURL, len(t.chanData)-start)
		chanSum += len(t.chanData) - start
	}
	// Half the bids are on a hot channel (the mean is rounded up).
	t.avgURL = (hotSum/numHotChannels+chanSum/numChannels)/2 + 1
	for i := range t.pow10 {
		t.pow10[i] = math.Pow(10, 6*float64(i)/(1<<10))
		t.pow10f[i] = math.Pow(10, 6*float64(i)/(1<<20))
	}
	return t
}

// baseURL appends a URL of the reference's shape: three path segments of 3
// or 4 characters (letters, '_' at about 1 in 13).
func baseURL(b []byte, r *rng) []byte {
	b = append(b, "https://www.nexmark.com/"...)
	for range 3 {
		n := 3 + r.below(2)
		for range n {
			if r.below(13) == 0 {
				b = append(b, '_')
			} else {
				b = append(b, byte('a'+r.below(26)))
			}
		}
		b = append(b, '/')
	}
	return append(b, "item.htm?query=1"...)
}

func reverse32(v int32) int32 {
	u := uint32(v)
	var out uint32
	for range 32 {
		out = out<<1 | u&1
		u >>= 1
	}
	return int32(out)
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// rng is a wyrand stream (one 64x64->128-bit multiply per draw). Each
// event gets its own stream, seeded from a splitmix hash of its event
// number, so an event's values do not depend on which events were
// generated before it.
type rng struct{ s uint64 }

func eventRNG(n int64) rng {
	// Mixing the seed keeps the streams of neighbouring events apart (plain
	// n*gamma seeds would make event n+1's stream event n's, shifted).
	return rng{s: mix(uint64(n) ^ 0x243F6A8885A308D3)}
}

// mix is splitmix64's finalizer.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func (r *rng) next() uint64 {
	r.s += 0xA0761D6478BD642F
	hi, lo := bits.Mul64(r.s, r.s^0xE7037ED1A0B428DB)
	return hi ^ lo
}

// below returns a uniform value in [0, n) (n > 0) by multiply-high, which
// needs no division.
func (r *rng) below(n uint64) uint64 {
	hi, _ := bits.Mul64(r.next(), n)
	return hi
}

// price is the reference's log-uniform price round(10^(6u) * 100), u
// uniform in [0, 1): in [100, 10^8]. 10^(6u) is the product of a table
// entry for the top 10 bits of u, one for the next 10, and 1+y for the
// rest (y < 1.4e-5, so the error is below 1e-10, far under a cent at
// 10^8): a few ns instead of math.Pow's ~30.
func (t *tables) price(h uint64) int64 {
	// Converting from int64 (not uint64) is one instruction.
	y := float64(int64(h>>20&(1<<44-1))) * (6.0 / (1 << 20) * math.Ln10 / (1 << 44))
	return int64(t.pow10[h>>54]*t.pow10f[h>>44&1023]*(100+100*y) + 0.5)
}
