//go:build crds

// Package crds only pins the API type packages controller-gen reads; it is
// never built (the build tag keeps it out of every build but `go mod tidy`).
package crds

import (
	_ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	_ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	_ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1beta1"
)
