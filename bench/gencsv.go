//go:build ignore

// gencsv writes a CSV of N rows × 20 columns (10 numeric, 10 categorical) for the baseline
// benchmark: go run bench/gencsv.go -rows 1000000 -out /tmp/train.csv
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"strconv"
)

func main() {
	rows := flag.Int("rows", 1000000, "rows to write")
	out := flag.String("out", "train.csv", "file to write")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 10 {
		fmt.Fprintf(w, "n%d,c%d,", i, i)
	}
	w.WriteString("score\n")
	var buf []byte
	for range *rows {
		buf = buf[:0]
		for i := range 10 {
			buf = strconv.AppendFloat(buf, r.NormFloat64()*10+float64(i), 'f', 4, 64)
			buf = append(buf, ",cat"...)
			buf = strconv.AppendInt(buf, int64(r.IntN(20)), 10)
			buf = append(buf, ',')
		}
		buf = strconv.AppendFloat(buf, r.Float64(), 'f', 4, 64)
		buf = append(buf, '\n')
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
