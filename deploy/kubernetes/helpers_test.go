package kubernetes

import (
	"bufio"
	"bytes"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)

func bufioReader(b []byte) *bufio.Reader { return bufio.NewReader(bytes.NewReader(b)) }

func metav1Selector(s *metav1.LabelSelector) (labels.Selector, error) {
	return metav1.LabelSelectorAsSelector(s)
}

func metav1LabelSelector(d *appsv1.Deployment) (labels.Selector, error) {
	return metav1.LabelSelectorAsSelector(d.Spec.Selector)
}

// namespaceOf returns the namespace an object was rendered into.
func namespaceOf(o any) string {
	switch v := o.(type) {
	case *appsv1.Deployment:
		return v.Namespace
	case *batchv1.Job:
		return v.Namespace
	case *corev1.Service:
		return v.Namespace
	case *corev1.ConfigMap:
		return v.Namespace
	case *corev1.Secret:
		return v.Namespace
	case *corev1.ServiceAccount:
		return v.Namespace
	case *policyv1.PodDisruptionBudget:
		return v.Namespace
	case *monitoringv1.ServiceMonitor:
		return v.Namespace
	case *monitoringv1.PrometheusRule:
		return v.Namespace
	}
	return ""
}
