package main

import (
	"testing"

	"github.com/riverwatch/riverwatch/pkg/service/servicetest"
)

func TestCommonFlags(t *testing.T) { servicetest.CommonFlags(t, "responder", run) }
