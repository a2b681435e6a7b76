{{/* Chart name, overridable. */}}
{{- define "irisdb.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-qualified name: the release name alone when it already contains the chart name. */}}
{{- define "irisdb.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of the operator's Deployment, ServiceAccount and RBAC objects. */}}
{{- define "irisdb.operatorName" -}}
{{- printf "%s-operator" (include "irisdb.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "irisdb.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "irisdb.operatorName" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "irisdb.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "irisdb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "irisdb.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: irisdb
{{- end }}

{{/* "<name>-operator", not "<name>": the storage-node pods carry app.kubernetes.io/name=irisdb and must never match these. */}}
{{- define "irisdb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "irisdb.name" . }}-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{/*
What the operator may do in the namespaces it manages (docs/architecture.md §5 "Kubernetes
resources"), used by the ClusterRole or by each watched namespace's Role.
Nothing here reaches nodes, namespaces, RBAC objects or CRDs.
*/}}
{{- define "irisdb.operatorRules" -}}
# Its own resources: watch and reconcile them; finalizers for cleanup outside owner references.
- apiGroups: [irisdb.io]
  resources: [irisclusters, irisbackups]
  verbs: [get, list, watch, update, patch]
- apiGroups: [irisdb.io]
  resources: [irisclusters/status, irisbackups/status]
  verbs: [get, update, patch]
# Scheduled backups: an IrisBackup per run, deleted by retention (operator/kube/backup/).
- apiGroups: [irisdb.io]
  resources: [irisbackups]
  verbs: [create, delete]
- apiGroups: [irisdb.io]
  resources: [irisclusters/finalizers, irisbackups/finalizers]
  verbs: [update]
# What each cluster is made of: a StatefulSet and PDB per shard, Services, the internal token Secret.
- apiGroups: [apps]
  resources: [statefulsets]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [""]
  resources: [services, secrets, configmaps]
  verbs: [get, list, watch, create, update, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, update, patch, delete]
# Node pods: role labels (patch), and deletion of a stuck pod during a rollout.
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, patch, delete]
# Volumes of removed shards and replicas (the StatefulSet controller leaves them behind).
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [get, list, watch, delete]
# Events for failovers, migrations and refusals.
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
# The cert-manager Certificate of a cluster with spec.tls.certManager (cert-manager.io).
- apiGroups: [cert-manager.io]
  resources: [certificates]
  verbs: [get, list, watch, create, update, patch, delete]
# ServiceMonitors of clusters with spec.monitoring.serviceMonitor (Prometheus operator).
- apiGroups: [monitoring.coreos.com]
  resources: [servicemonitors]
  verbs: [get, list, watch, create, update, patch, delete]
{{- end }}
