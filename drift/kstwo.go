package drift

import "math"

// This file ports the survival function of scipy.stats.kstwo, the
// distribution of the two-sided one-sample Kolmogorov-Smirnov statistic D_n,
// from scipy 1.10 (scipy/stats/_ksstats.py, itself following Simard and
// L'Ecuyer, "Computing the Two-Sided Kolmogorov-Smirnov Distribution", 2011).
// ks_2samp uses kstwo.sf(d, round(en)) as its asymptotic p-value. Branches,
// thresholds and the order of floating-point operations follow scipy; the
// tests find agreement to 1e-11 relative over a grid covering every branch.

const (
	// ksScaleExp: intermediate results are rescaled by 2^128 (scipy's
	// _EP128) to stay inside the float64 range.
	ksScaleExp = 128
	minLogExp  = -708 // _MIN_LOG in _ksstats.py
)

var (
	ksScale    = math.Ldexp(1, ksScaleExp)
	ksScaleInv = math.Ldexp(1, -ksScaleExp)
	sqrt2Pi    = math.Sqrt(2 * math.Pi)
	log2Pi     = math.Log(2 * math.Pi)
	sqrt3      = math.Sqrt(3)
	piSquared  = math.Pi * math.Pi
	piFour     = math.Pow(math.Pi, 4)
	piSix      = math.Pow(math.Pi, 6)
)

// stirlingCoeffs are B_{2j}/(2j)/(2j-1) for j=8,...,1 (_STIRLING_COEFFS).
var stirlingCoeffs = [...]float64{
	-2.955065359477124183e-2, 6.4102564102564102564e-3,
	-1.9175269175269175269e-3, 8.4175084175084175084e-4,
	-5.952380952380952381e-4, 7.9365079365079365079e-4,
	-2.7777777777777777778e-3, 8.3333333333333333333e-2,
}

// kstwoSF is scipy.stats.kstwo.sf(d, n): Pr(D_n >= d). It includes the
// support handling of rv_continuous.sf (support is [0.5/n, 1]).
func kstwoSF(d float64, n int) float64 {
	if n < 1 || math.IsNaN(d) {
		return math.NaN()
	}
	if d <= 0.5/float64(n) {
		return 1
	}
	if d >= 1 {
		return 0
	}
	return kolmognSF(n, d)
}

// powN is x^y for the integral or moderate powers used here. math.Pow
// squares repeatedly for integral y, which loses about one bit per doubling
// of y (4e-11 relative at y = 10^6, against glibc's < 1 ulp behind scipy);
// exp(y*log(x)) keeps the error near eps*|y*log(x)|, well under 1e-13 for
// the results that do not underflow.
func powN(x, y float64) float64 {
	if math.Abs(y) <= 64 || !(x > 0) {
		return math.Pow(x, y)
	}
	return math.Exp(y * math.Log(x))
}

// clip01 is numpy.clip(p, 0, 1) (NaN passes through).
func clip01(p float64) float64 {
	if p < 0 {
		return 0
	}
	if p > 1 {
		return 1
	}
	return p
}

// kolmognSF is _kolmogn(n, x, cdf=False) from scipy's _ksstats.py.
func kolmognSF(n int, x float64) float64 {
	if x >= 1 {
		return 0
	}
	if x <= 0 {
		return 1
	}
	nf := float64(n)
	t := nf * x
	if t <= 1 { // Ruben-Gambino: 1/2n <= x <= 1/n
		if t <= 0.5 {
			return 1
		}
		var prob float64
		if n <= 140 {
			// np.prod(np.arange(1, n+1) * (1.0/n) * (2*t - 1))
			rn := 1.0 / nf
			prob = 1
			for i := 1; i <= n; i++ {
				prob *= float64(i) * rn * (2*t - 1)
			}
		} else {
			prob = math.Exp(logNFactorialDivNPowN(nf) + nf*math.Log(2*t-1))
		}
		return clip01(1 - prob)
	}
	if t >= nf-1 { // Ruben-Gambino
		return clip01(2 * powN(1-x, nf))
	}
	if x >= 0.5 { // exact: 2 * smirnov
		return clip01(2 * smirnovSF(n, x))
	}
	nxSquared := t * x
	if n <= 140 {
		if nxSquared <= 0.754693 {
			return clip01(1 - kolmognDMTW(n, x))
		}
		if nxSquared <= 4 {
			return clip01(1 - kolmognPomeranz(n, x))
		}
		return clip01(2 * smirnovSF(n, x))
	}
	// The survival function has its own cut-offs on n*x^2.
	if nxSquared >= 370 {
		return 0
	}
	if nxSquared >= 2.2 {
		return clip01(2 * smirnovSF(n, x))
	}
	var cdf float64
	switch {
	case nxSquared >= 18: // unreachable for the survival function; kept as in scipy
		cdf = 1
	case n <= 100000 && nf*math.Pow(x, 1.5) <= 1.4:
		cdf = kolmognDMTW(n, x)
	default:
		cdf = kolmognPelzGood(n, x)
	}
	return clip01(1 - cdf)
}

// logNFactorialDivNPowN is log(n!/n^n) by Stirling's series
// (_log_nfactorial_div_n_pow_n).
func logNFactorialDivNPowN(n float64) float64 {
	rn := 1.0 / n
	// np.polyval: Horner from the highest coefficient.
	poly := 0.0
	x := rn / n
	for _, c := range stirlingCoeffs {
		poly = poly*x + c
	}
	return math.Log(n)/2 - n + log2Pi/2 + rn*poly
}

// kolmognDMTW is Pr(D_n <= d) by Durbin's matrix algorithm as evaluated by
// Marsaglia, Tsang and Wang (_kolmogn_DMTW). It needs O(m^3 log n) work for
// m = 2*ceil(n*d)-1; scipy only uses it where m stays small.
func kolmognDMTW(n int, d float64) float64 {
	if d >= 1 {
		return 1
	}
	nf := float64(n)
	nd := nf * d
	if nd <= 0.5 {
		return 0
	}
	k := int(math.Ceil(nd))
	h := float64(k) - nd
	m := 2*k - 1

	// v[j] = (1 - h^(j+1)) / (j+1)!; w[j] = 1/j!
	v := make([]float64, m)
	w := make([]float64, m)
	fac := 1.0
	for j := 1; j <= m; j++ {
		v[j-1] = 1 - powN(h, float64(j))
		w[j-1] = fac
		fac /= float64(j)
		v[j-1] *= fac
	}
	tt := -2 * powN(h, float64(m))
	if 2*h-1 > 0 {
		tt = powN(2*h-1, float64(m)) - 2*powN(h, float64(m))
	}
	v[m-1] = (1 + tt) * fac

	// H is row-major m x m: H[r][c] = w[r-c+1] below the super-diagonal,
	// first column v, last row v reversed.
	H := make([]float64, m*m)
	for c := 1; c < m; c++ {
		for r := c - 1; r < m; r++ {
			H[r*m+c] = w[r-c+1]
		}
	}
	for r := 0; r < m; r++ {
		H[r*m] = v[r]
	}
	for c := 0; c < m; c++ {
		H[(m-1)*m+c] = v[m-1-c]
	}

	Hpwr := make([]float64, m*m)
	for i := 0; i < m; i++ {
		Hpwr[i*m+i] = 1
	}
	tmp := make([]float64, m*m)
	expnt, hExpnt := 0, 0
	for nn := n; nn > 0; nn /= 2 {
		if nn%2 == 1 {
			matMul(tmp, Hpwr, H, m)
			Hpwr, tmp = tmp, Hpwr
			expnt += hExpnt
		}
		if nn/2 == 0 {
			break // scipy squares H once more here, without effect on the result
		}
		matMul(tmp, H, H, m)
		H, tmp = tmp, H
		hExpnt *= 2
		if math.Abs(H[(k-1)*m+k-1]) > ksScale {
			for i := range H {
				H[i] /= ksScale
			}
			hExpnt += ksScaleExp
		}
	}

	p := Hpwr[(k-1)*m+k-1]
	// Multiply by n!/n^n, rescaling to avoid underflow.
	for i := 1; i <= n; i++ {
		p = float64(i) * p / nf
		if math.Abs(p) < ksScaleInv {
			p *= ksScale
			expnt -= ksScaleExp
		}
	}
	if expnt != 0 {
		p = math.Ldexp(p, expnt)
	}
	return clip01(p)
}

// matMul sets dst = a*b for row-major m x m matrices; dst must not alias a or b.
func matMul(dst, a, b []float64, m int) {
	clear(dst)
	for i := 0; i < m; i++ {
		row := dst[i*m : i*m+m]
		for k := 0; k < m; k++ {
			aik := a[i*m+k]
			if aik == 0 {
				continue
			}
			bk := b[k*m : k*m+m]
			for j := range row {
				row[j] += aik * bk[j]
			}
		}
	}
}

// pomeranzJ1J2 is _pomeranz_compute_j1j2: the interval of row i.
func pomeranzJ1J2(i, n, ll, ceilf, roundf int) (int, int) {
	var j1, j2 int
	if i == 0 {
		j1, j2 = -ll-ceilf-1, ll+ceilf-1
	} else {
		ip1div2, ip1mod2 := (i+1)/2, (i+1)%2
		switch {
		case ip1mod2 == 0 && ip1div2 == n+1: // i is odd
			j1, j2 = n-ll-ceilf-1, n+ll+ceilf-1
		case ip1mod2 == 0:
			j1, j2 = ip1div2-1-ll-roundf-1, ip1div2+ll-1+ceilf-1
		default:
			j1, j2 = ip1div2-1-ll-1, ip1div2+ll+roundf-1
		}
	}
	return max(j1+2, 0), min(j2, n)
}

// kolmognPomeranz is Pr(D_n <= x) by Pomeranz's recursion
// (_kolmogn_Pomeranz).
func kolmognPomeranz(n int, x float64) float64 {
	nf := float64(n)
	t := nf * x
	ll := int(math.Floor(t))
	f := t - float64(ll)
	g := min(f, 1-f)
	ceilf, roundf := 0, 0
	if f > 0 {
		ceilf = 1
	}
	if f > 0.5 {
		roundf = 1
	}
	npwrs := 2 * (ll + 1)
	gpower := make([]float64, npwrs)
	twogpower := make([]float64, npwrs)
	onem2gpower := make([]float64, npwrs)
	gpower[0], twogpower[0], onem2gpower[0] = 1, 1, 1
	gOverN, twoGOverN, oneMinusTwoGOverN := g/nf, 2*g/nf, (1-2*g)/nf
	for m := 1; m < npwrs; m++ {
		fm := float64(m)
		gpower[m] = gpower[m-1] * gOverN / fm
		twogpower[m] = twogpower[m-1] * twoGOverN / fm
		onem2gpower[m] = onem2gpower[m-1] * oneMinusTwoGOverN / fm
	}

	V0 := make([]float64, npwrs)
	V1 := make([]float64, npwrs)
	conv := make([]float64, 2*npwrs)
	V1[0] = 1
	V0s, V1s := 0, 0
	expnt := 0
	j1, _ := pomeranzJ1J2(0, n, ll, ceilf, roundf)
	for i := 1; i < 2*n+2; i++ {
		k1 := j1
		V0, V1 = V1, V0
		V0s, V1s = V1s, V0s
		clear(V1)
		var j2 int
		j1, j2 = pomeranzJ1J2(i, n, ll, ceilf, roundf)
		var pwrs []float64
		switch {
		case i == 1 || i == 2*n+1:
			pwrs = gpower
		case i%2 == 1:
			pwrs = twogpower
		default:
			pwrs = onem2gpower
		}
		ln2 := j2 - k1 + 1
		if ln2 <= 0 {
			continue
		}
		// conv = np.convolve(V0[k1-V0s : k1-V0s+ln2], pwrs[:ln2]) (full mode)
		a := sliceClamp(V0, k1-V0s, k1-V0s+ln2)
		b := pwrs[:min(ln2, len(pwrs))]
		nconv := len(a) + len(b) - 1
		conv = conv[:0]
		for c := 0; c < nconv; c++ {
			s := 0.0
			for ia := max(0, c-len(b)+1); ia <= min(c, len(a)-1); ia++ {
				s += a[ia] * b[c-ia]
			}
			conv = append(conv, s)
		}
		convStart := j1 - k1
		convLen := j2 - j1 + 1
		copy(V1[:max(convLen, 0)], sliceClamp(conv, convStart, convStart+convLen))
		// Scale to avoid underflow.
		maxV := 0.0
		for _, e := range V1 {
			maxV = max(maxV, e)
		}
		if 0 < maxV && maxV < ksScaleInv {
			for idx := range V1 {
				V1[idx] *= ksScale
			}
			expnt -= ksScaleExp
		}
		V1s = V0s + j1 - k1
	}

	// Multiply by n!.
	ans := V1[n-V1s]
	for m := 1; m <= n; m++ {
		if math.Abs(ans) > ksScale {
			ans *= ksScaleInv
			expnt += ksScaleExp
		}
		ans *= float64(m)
	}
	if expnt != 0 {
		ans = math.Ldexp(ans, expnt)
	}
	return clip01(ans)
}

// sliceClamp is s[lo:hi] with numpy's clamping of out-of-range bounds.
func sliceClamp(s []float64, lo, hi int) []float64 {
	lo = min(max(lo, 0), len(s))
	hi = min(max(hi, lo), len(s))
	return s[lo:hi]
}

// kolmognPelzGood is the Pelz-Good approximation of Pr(D_n <= x)
// (_kolmogn_PelzGood).
func kolmognPelzGood(n int, x float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	nf := float64(n)
	z := math.Sqrt(nf) * x
	zsquared, zthree, zfour, zsix := math.Pow(z, 2), math.Pow(z, 3), math.Pow(z, 4), math.Pow(z, 6)

	qlog := -piSquared / 8 / zsquared
	if qlog < minLogExp { // z ~ 0.041743441416853426
		return 0
	}
	q := math.Exp(qlog)

	// Coefficients of the terms in the sums for K1, K2 and K3.
	k1a := -zsquared
	k1b := piSquared / 4

	k2a := 6*zsix + 2*zfour
	k2b := (2*zfour - 5*zsquared) * piSquared / 4
	k2c := piFour * (1 - 2*zsquared) / 16

	k3d := piSix * (5 - 30*zsquared) / 64
	k3c := piFour * (-60*zsquared + 212*zfour) / 16
	k3b := piSquared * (135*zfour - 96*zsix) / 4
	k3a := -30*zsix - 90*math.Pow(z, 8)

	var K [4]float64
	// Horner scheme for sum c_i q^(i^2) over odd integers.
	maxk := int(math.Ceil(16 * z / math.Pi))
	for k := maxk; k > 0; k-- {
		m := float64(2*k - 1)
		msquared, mfour, msix := m*m, m*m*m*m, m*m*m*m*m*m
		qpower := powN(q, float64(8*k))
		coeffs := [4]float64{
			1,
			k1a + k1b*msquared,
			k2a + k2b*msquared + k2c*mfour,
			k3a + k3b*msquared + k3c*mfour + k3d*msix,
		}
		for i := range K {
			K[i] *= qpower
			K[i] += coeffs[i]
		}
	}
	div := [4]float64{z, 6 * zfour, 72 * math.Pow(z, 7), 6480 * math.Pow(z, 10)}
	for i := range K {
		K[i] *= q
		K[i] *= sqrt2Pi
		K[i] /= div[i]
	}

	// The other sums over all integers k, for K2 and K3.
	q = math.Exp(-piSquared / 2 / zsquared)
	sqrt3z := sqrt3 * z
	var k2extra, k3extra float64
	for k := maxk; k > 0; k-- {
		ksquared := float64(k * k)
		qpwer := powN(q, ksquared)
		kspi := math.Pi * float64(k)
		k2extra += ksquared * qpwer
		k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpwer
	}
	k2extra *= piSquared * sqrt2Pi / (-36 * zthree)
	K[2] += k2extra
	k3extra *= piSquared * sqrt2Pi / (216 * zsix)
	K[3] += k3extra
	K[1] /= math.Pow(nf, 0.5)
	K[2] /= nf
	K[3] /= math.Pow(nf, 1.5)
	return 0 + K[0] + K[1] + K[2] + K[3]
}
