package drift

import "math"

// Table-driven log and exp for the hot loop of the Smirnov series, where
// math.Log and math.Exp (three logs and one exp per term, up to 10^6 terms)
// dominate the cost of a p-value. Both stay within a few ulp of the math
// package (see fastmath_test.go), far below what the series needs: its terms
// carry the error of log(x) multiplied by up to n.

const (
	logTableBits = 7
	logTableSize = 1 << logTableBits
	// logOff: arguments are reduced to z in [logOff, 2*logOff) ~ [0.708, 1.417)
	// by a power of two.
	logOff = 0x3fe6955500000000
	// ln2Hi has trailing zero bits so that k*ln2Hi is exact for |k| < 2^11.
	ln2Hi = 0x1.62e42fefa3800p-1
	ln2Lo = 0x1.ef35793c76730p-45

	expTableBits = 7
	expTableSize = 1 << expTableBits
	expShift     = 0x1.8p52 // adding and subtracting rounds to an integer
)

type logEntry struct{ invc, logc float64 }

// logTable[i] covers the reduced arguments z whose bits lie in
// [logOff + i<<45, logOff + (i+1)<<45): invc ~ 1/c for the centre c of that
// interval, logc = log(c) = -log(invc).
var logTable = func() (t [logTableSize]logEntry) {
	for i := range t {
		lo := math.Float64frombits(logOff + uint64(i)<<45)
		hi := math.Float64frombits(logOff + uint64(i+1)<<45)
		if lo <= 1 && 1 < hi {
			// Around 1 use c = 1 exactly: r = z-1 is then exact and log(z)
			// keeps full relative precision as z approaches 1.
			t[i] = logEntry{invc: 1, logc: 0}
			continue
		}
		invc := 1 / ((lo + hi) / 2)
		t[i] = logEntry{invc: invc, logc: -math.Log(invc)}
	}
	return t
}()

// expTable[j] = 2^(j/expTableSize).
var expTable = func() (t [expTableSize]float64) {
	for j := range t {
		t[j] = math.Exp2(float64(j) / expTableSize)
	}
	return t
}()

var (
	expInvLn2N = expTableSize / math.Ln2
	// ln2/N split so that kd*expLn2HiN is exact for |kd| < 2^21 (|x| <= 700
	// gives |kd| < 2^17): the high part keeps 32 significant bits, the low
	// part is the rest of the double-double ln2Hi + ln2Lo.
	ln2Hi32   = math.Float64frombits(math.Float64bits(ln2Hi) &^ (1<<20 - 1))
	expLn2HiN = ln2Hi32 / expTableSize
	expLn2LoN = ((ln2Hi - ln2Hi32) + ln2Lo) / expTableSize
)

// fastLog is log(x) for x > 0. Outside the range of normal, moderately
// sized numbers it defers to math.Log.
func fastLog(x float64) float64 {
	ix := math.Float64bits(x)
	// Normal x in [2^-1000, 2^1000): exponent field in [23, 2023).
	if e := ix >> 52; e < 23 || e >= 2023 {
		return math.Log(x)
	}
	tmp := ix - logOff
	i := (tmp >> (52 - logTableBits)) % logTableSize
	k := int64(tmp) >> 52
	z := math.Float64frombits(ix - tmp&(0xfff<<52))
	e := &logTable[i]
	r := math.FMA(z, e.invc, -1) // |r| < 0.0056
	kd := float64(k)
	// log1p(r) - r by its Taylor series to r^7 (next term < 2e-19 |r|).
	p := r * r * (-1.0/2 + r*(1.0/3+r*(-1.0/4+r*(1.0/5+r*(-1.0/6+r*(1.0/7))))))
	w := kd*ln2Hi + e.logc
	hi := w + r
	var lo float64
	if math.Abs(w) >= math.Abs(r) {
		lo = (w - hi) + r
	} else {
		lo = (r - hi) + w
	}
	return hi + (lo + kd*ln2Lo + p)
}

// fastExp is exp(x). Outside [-700, 700] it defers to math.Exp.
func fastExp(x float64) float64 {
	if !(x >= -700 && x <= 700) {
		return math.Exp(x)
	}
	kd := x*expInvLn2N + expShift
	kd -= expShift // round(x * N / ln2)
	ki := int64(kd)
	r := (x - kd*expLn2HiN) - kd*expLn2LoN // |r| <= ln2/(2N)
	// exp(r) by its Taylor series to r^5 (next term < 1e-18).
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120)))))
	t := expTable[ki&(expTableSize-1)] * p
	// Scale by 2^(ki div N); the result stays a normal number in this range.
	return math.Float64frombits(math.Float64bits(t) + uint64(ki>>expTableBits)<<52)
}
