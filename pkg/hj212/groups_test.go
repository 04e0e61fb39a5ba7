package hj212

import (
	"strings"
	"testing"
)

func TestGroupCursorGivesTheGroupsOfStringsSplit(t *testing.T) {
	for _, cp := range []string{
		"DataTime=20240101000000",
		"DataTime=20240101000000;w01018-Avg=7,w01018-Flag=N;w21003-Avg=0.5",
		"a=1;b=2;c=3;d=4",
	} {
		want := strings.Split(cp, ";")
		for _, order := range [][]int{{0, 1, 2, 3}, {1, 3}, {3, 1, 0}, {2, 2, 5}} {
			c := groupCursor{cp: cp, rest: cp}
			for _, g := range order {
				w := ""
				if g < len(want) {
					w = want[g]
				}
				if got := c.group(g); got != w {
					t.Fatalf("cp %q, order %v: group %d = %q, want %q", cp, order, g, got, w)
				}
			}
		}
	}
}
