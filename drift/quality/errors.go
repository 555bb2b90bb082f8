package quality

import (
	"errors"
	"fmt"
)

var (
	// ErrOneClass is returned by ROCAUC when y holds only positives or only
	// negatives: the ROC curve is then undefined (sklearn raises
	// "Only one class present in y_true").
	ErrOneClass = errors.New("quality: only one class present in y")

	// ErrEmpty is returned by the error-returning functions for empty input;
	// the value returned with it is NaN.
	ErrEmpty = errors.New("quality: empty input")

	// ErrNonFinite is returned by ROCAUC when a score is NaN or ±Inf, which
	// sklearn rejects too.
	ErrNonFinite = errors.New("quality: non-finite score")

	// ErrLabel is returned by MulticlassLogLoss when a label lies outside
	// [0, k).
	ErrLabel = errors.New("quality: label out of range")

	// ErrShape is returned by MulticlassLogLoss when k < 2 or len(probs) is
	// not len(y)*k.
	ErrShape = errors.New("quality: bad probability matrix shape")
)

// mustSameLen panics when paired inputs differ in length. Mismatched slices
// are a programmer error, as in gonum/floats.
func mustSameLen(name string, a, b int) {
	if a != b {
		panic(fmt.Sprintf("quality: %s: length mismatch: %d != %d", name, a, b))
	}
}
