{{/* Names, labels and shared snippets of the Opora chart. */}}

{{- define "opora.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "opora.fullname" -}}
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

{{- define "opora.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "opora.labels" -}}
helm.sh/chart: {{ include "opora.chart" . }}
app.kubernetes.io/name: {{ include "opora.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: opora
{{- end }}

{{- define "opora.selectorLabels" -}}
app.kubernetes.io/name: {{ include "opora.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: backend
{{- end }}

{{- define "opora.webchatSelectorLabels" -}}
app.kubernetes.io/name: {{ include "opora.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webchat
{{- end }}

{{- define "opora.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "opora.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "opora.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "opora.webchatImage" -}}
{{- printf "%s:%s" .Values.webchat.image.repository (default .Chart.AppVersion .Values.webchat.image.tag) }}
{{- end }}

{{/* The Qdrant URL: the bundled dependency's service, or vectorStore.url. */}}
{{- define "opora.qdrantUrl" -}}
{{- if .Values.qdrant.enabled }}
{{- printf "http://%s-qdrant:6333" .Release.Name }}
{{- else }}
{{- .Values.vectorStore.url }}
{{- end }}
{{- end }}

{{/* The Secret holding OPORA_DATABASE_URL, and its key. */}}
{{- define "opora.databaseSecretName" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecret }}{{ else }}{{ include "opora.fullname" . }}-database{{ end }}
{{- end }}

{{- define "opora.databaseSecretKey" -}}
{{- if .Values.database.existingSecret }}{{ .Values.database.existingSecretKey }}{{ else }}database-url{{ end }}
{{- end }}

{{/* Environment shared by the backend pods and the migration Job. */}}
{{- define "opora.env" -}}
- name: OPORA_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "opora.databaseSecretName" . }}
      key: {{ include "opora.databaseSecretKey" . }}
- name: OPORA_DATABASE__POOL_SIZE
  value: {{ .Values.database.poolSize | quote }}
- name: OPORA_DATABASE__MAX_OVERFLOW
  value: {{ .Values.database.maxOverflow | quote }}
- name: OPORA_DATABASE__MIGRATE_ON_START
  value: {{ (not .Values.migrations.enabled) | quote }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "opora.envFrom" -}}
- configMapRef:
    name: {{ include "opora.fullname" . }}
{{- if or .Values.secrets .Values.vectorStore.apiKey }}
- secretRef:
    name: {{ include "opora.fullname" . }}
{{- end }}
{{- if .Values.existingSecret }}
- secretRef:
    name: {{ .Values.existingSecret }}
{{- end }}
{{- end }}
