package drift

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// PCA is a principal-components model of a reference, for multivariate drift as NannyML
// measures it: scale each column as the reference was scaled (sklearn's StandardScaler),
// keep the fewest components that explain more than a share of the reference's variance
// (sklearn's PCA(n_components=share)), and score data by the mean Euclidean distance
// between each scaled row and its reconstruction from those components. Drift in the
// joint distribution (a broken correlation) raises the error even when every column's own
// distribution is unchanged.
//
// Missing values (NaN) are replaced by the reference column's mean before scaling, which
// is 0 after it; columns must otherwise be finite.
type PCA struct {
	d      int
	mean   []float64 // per column, of the reference (NaN left out)
	scale  []float64 // population standard deviation; 1 for a constant column (as sklearn)
	center []float64 // column means of the scaled, imputed reference (sklearn's PCA.mean_)
	comps  *mat.Dense
	k      int
}

// ErrTooFewRows is returned when the reference has fewer than two rows.
var ErrTooFewRows = errors.New("drift: PCA needs at least two reference rows")

// FitPCA fits the model to a reference of n rows and d columns, row-major in data, keeping
// the fewest components whose cumulative explained variance ratio exceeds share (0 < share
// < 1).
func FitPCA(data []float64, n, d int, share float64) (*PCA, error) {
	if len(data) != n*d || d < 1 {
		return nil, fmt.Errorf("drift: PCA data has %d values, want %d rows × %d columns", len(data), n, d)
	}
	if n < 2 {
		return nil, ErrTooFewRows
	}
	if !(share > 0 && share < 1) {
		return nil, fmt.Errorf("drift: PCA variance share %v is outside (0, 1)", share)
	}
	p := &PCA{d: d, mean: make([]float64, d), scale: make([]float64, d), center: make([]float64, d)}
	for j := range d {
		var sum float64
		var cnt int
		for i := range n {
			if v := data[i*d+j]; !math.IsNaN(v) {
				sum += v
				cnt++
			}
		}
		if cnt > 0 {
			p.mean[j] = sum / float64(cnt)
		}
	}
	// StandardScaler scales by the standard deviation of the imputed column.
	for j := range d {
		var ss float64
		for i := range n {
			v := data[i*d+j]
			if math.IsNaN(v) {
				v = p.mean[j]
			}
			ss += (v - p.mean[j]) * (v - p.mean[j])
		}
		p.scale[j] = math.Sqrt(ss / float64(n))
		if p.scale[j] == 0 {
			p.scale[j] = 1
		}
	}
	scaled := mat.NewDense(n, d, p.scaleRows(data, n))
	for j := range d {
		p.center[j] = mat.Sum(scaled.ColView(j)) / float64(n)
	}
	var pc stat.PC
	if !pc.PrincipalComponents(scaled, nil) {
		return nil, errors.New("drift: PCA did not converge")
	}
	vars := pc.VarsTo(nil)
	var total float64
	for _, v := range vars {
		total += v
	}
	p.k = len(vars)
	if total > 0 {
		var cum float64
		for i, v := range vars {
			cum += v / total
			if cum > share {
				p.k = i + 1
				break
			}
		}
	}
	var vecs mat.Dense
	pc.VectorsTo(&vecs)
	p.comps = mat.DenseCopyOf(vecs.Slice(0, d, 0, p.k))
	return p, nil
}

// Components is the number of components kept.
func (p *PCA) Components() int { return p.k }

// scaleRows imputes and scales rows into a new slice.
func (p *PCA) scaleRows(data []float64, n int) []float64 {
	out := make([]float64, n*p.d)
	for i := range n {
		for j := range p.d {
			v := data[i*p.d+j]
			if math.IsNaN(v) {
				v = p.mean[j]
			}
			out[i*p.d+j] = (v - p.mean[j]) / p.scale[j]
		}
	}
	return out
}

// ReconstructionError is the mean, over the m rows of data (row-major, the reference's
// columns), of the Euclidean distance between a scaled row and its reconstruction from
// the kept components. It is NaN for no rows.
func (p *PCA) ReconstructionError(data []float64, m int) float64 {
	if m == 0 || len(data) != m*p.d {
		return math.NaN()
	}
	x := mat.NewDense(m, p.d, p.scaleRows(data, m))
	centered := mat.NewDense(m, p.d, nil)
	centered.Apply(func(_, j int, v float64) float64 { return v - p.center[j] }, x)
	var proj, recon mat.Dense
	proj.Mul(centered, p.comps)
	recon.Mul(&proj, p.comps.T())
	var sum float64
	for i := range m {
		var ss float64
		for j := range p.d {
			r := centered.At(i, j) - recon.At(i, j)
			ss += r * r
		}
		sum += math.Sqrt(ss)
	}
	return sum / float64(m)
}
