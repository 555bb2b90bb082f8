package quality_test

import (
	"errors"
	"fmt"

	"github.com/vigilml/vigil/drift/quality"
)

func ExampleBinaryConfusion() {
	y := []bool{true, true, false, false, false}
	pred := []bool{true, false, false, false, true}
	c := quality.BinaryConfusion(y, pred)
	fmt.Printf("%+v\n", c)
	fmt.Printf("accuracy %.2f precision %.2f recall %.2f f1 %.2f\n",
		c.Accuracy(), c.Precision(), c.Recall(), c.F1())
	// Output:
	// {TP:1 FP:1 TN:2 FN:1}
	// accuracy 0.60 precision 0.50 recall 0.50 f1 0.50
}

func ExampleROCAUCScratch() {
	// One scratch per evaluation loop: later calls reuse its buffers.
	var scratch quality.AUCScratch
	y := []bool{false, false, true, true}
	score := []float64{0.1, 0.4, 0.35, 0.8}
	auc, err := quality.ROCAUCScratch(y, score, &scratch)
	fmt.Println(auc, err)

	_, err = quality.ROCAUCScratch([]bool{false, false}, []float64{0.2, 0.9}, &scratch)
	fmt.Println(errors.Is(err, quality.ErrOneClass))
	// Output:
	// 0.75 <nil>
	// true
}

func ExampleMulticlassLogLoss() {
	// Two samples, three classes. Rows need not sum to 1: sklearn clips
	// every entry to [1e-15, 1-1e-15], then divides each row by its sum, so
	// the second row means P(class 2) = 0.25.
	y := []int{0, 2}
	probs := []float64{
		0.7, 0.2, 0.1,
		0.4, 0.2, 0.2,
	}
	loss, err := quality.MulticlassLogLoss(y, probs, 3)
	fmt.Printf("%.6f %v\n", loss, err)
	// Output:
	// 0.871485 <nil>
}
