package main

import (
	"reflect"
	"testing"
)

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("1, 5,20,5")
	if err != nil || !reflect.DeepEqual(got, []int{1, 5, 20}) {
		t.Errorf("parseSizes = %v, %v; want [1 5 20]", got, err)
	}
	for _, bad := range []string{"", "0", "1,x", "101", "-3"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("parseSizes(%q) accepted", bad)
		}
	}
}
