package drift_test

import (
	"fmt"

	"github.com/vigilml/vigil/drift"
)

// A reference window is sorted once; each current window is compared with
// it. The figures are scipy's and numpy's: ks_2samp gives statistic 0.2 and
// p-value 0.9944575548290717 here, wasserstein_distance/std 0.69631...
func ExampleSample_Compare() {
	ref := drift.NewSample([]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
	cur := drift.NewSample([]float64{3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	r := ref.Compare(cur)
	fmt.Printf("ks %.4g (p %.4g)\n", r.KS, r.KSPValue)
	fmt.Printf("wasserstein %.4g\n", r.Wasserstein)
	fmt.Printf("psi %.4g, jensen_shannon %.4g\n", r.PSI, r.JensenShannon)
	// Output:
	// ks 0.2 (p 0.9945)
	// wasserstein 0.6963
	// psi 1.6, jensen_shannon 0.3711
}

// Categorical features compare category counts over the categories of both
// windows: "new" appears only in the current window. chi2_contingency gives
// 2.5972222222222223 and p-value 0.45797673532442273.
func ExampleCompareCategorical() {
	ref := drift.CountCategories([]string{"DE", "DE", "FR", "US", "US", "US"})
	cur := drift.CountCategories([]string{"DE", "FR", "FR", "US", "new"})
	r := drift.CompareCategorical(ref, cur)
	fmt.Printf("chi_square %.4g (p %.4g), psi %.4g\n", r.ChiSquare, r.ChiSquarePValue, r.PSI)
	// Output:
	// chi_square 2.597 (p 0.458), psi 2.067
}
