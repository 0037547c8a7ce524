{{/* Names, labels and the pod parts the bot, the worker and the notifier share. */}}

{{- define "baton.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "baton.fullname" -}}
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

{{/* "<fullname>-<component>", within the 63 characters of a DNS label. */}}
{{- define "baton.componentName" -}}
{{- printf "%s-%s" (include "baton.fullname" .root) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "baton.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "baton.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: baton
{{- end }}

{{- define "baton.componentLabels" -}}
{{ include "baton.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "baton.selectorLabels" -}}
app.kubernetes.io/name: {{ include "baton.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "baton.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "baton.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "baton.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* One secretKeyRef env var: (dict "name" VAR "secret" NAME "key" KEY "optional" BOOL). */}}
{{- define "baton.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret | quote }}
      key: {{ .key | quote }}
      {{- if .optional }}
      optional: true
      {{- end }}
{{- end }}

{{/* Every process's Temporal connection, model, encryption and logging settings. */}}
{{- define "baton.sharedEnv" -}}
{{- $t := .Values.temporal -}}
- name: TEMPORAL_ADDRESS
  value: {{ required "temporal.address is required" $t.address | quote }}
- name: TEMPORAL_NAMESPACE
  value: {{ required "temporal.namespace is required" $t.namespace | quote }}
- name: BATON_TASK_QUEUE
  value: {{ $t.taskQueue | quote }}
{{- if $t.uiUrl }}
- name: TEMPORAL_UI_URL
  value: {{ $t.uiUrl | quote }}
{{- end }}
{{- if $t.tls }}
- name: TEMPORAL_TLS
  value: "true"
{{- end }}
{{- if $t.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ $t.serverName | quote }}
{{- end }}
{{- if $t.apiKey.existingSecret }}
{{ include "baton.secretEnv" (dict "name" "TEMPORAL_API_KEY" "secret" $t.apiKey.existingSecret "key" $t.apiKey.key) }}
{{- end }}
{{- if $t.mtls.existingSecret }}
- name: TEMPORAL_TLS_CERT_PATH
  value: {{ printf "%s/%s" $t.mtls.mountPath $t.mtls.certKey | quote }}
- name: TEMPORAL_TLS_KEY_PATH
  value: {{ printf "%s/%s" $t.mtls.mountPath $t.mtls.keyKey | quote }}
{{- if $t.mtls.caKey }}
- name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
  value: {{ printf "%s/%s" $t.mtls.mountPath $t.mtls.caKey | quote }}
{{- end }}
{{- end }}
- name: BATON_MODEL
  value: {{ .Values.model.name | quote }}
{{- if .Values.model.baseUrl }}
- name: OPENAI_BASE_URL
  value: {{ .Values.model.baseUrl | quote }}
{{- end }}
{{- if .Values.model.existingSecret }}
{{ include "baton.secretEnv" (dict "name" "OPENAI_API_KEY" "secret" .Values.model.existingSecret "key" .Values.model.apiKeyKey) }}
{{- end }}
{{- if .Values.payloadEncryption.existingSecret }}
{{ include "baton.secretEnv" (dict "name" "BATON_PAYLOAD_KEYS" "secret" .Values.payloadEncryption.existingSecret "key" .Values.payloadEncryption.keysKey) }}
{{- end }}
- name: BATON_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
- name: HOME  # libraries that cache under ~ write to the /tmp volume, the root filesystem being read-only
  value: /tmp
- name: PYTHONDONTWRITEBYTECODE
  value: "1"
{{- end }}

{{/* A component's own `env` map, then the chart-wide extraEnv list. */}}
{{- define "baton.extraEnv" -}}
{{- range $name, $value := .env }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- with .root.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Volumes every pod has: /tmp (the root filesystem is read-only) and the mTLS files when configured. */}}
{{- define "baton.sharedVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 256Mi
{{- with .Values.temporal.mtls }}
{{- if .existingSecret }}
- name: temporal-tls
  secret:
    secretName: {{ .existingSecret | quote }}
    defaultMode: 0440
{{- end }}
{{- end }}
{{- end }}

{{- define "baton.sharedVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- with .Values.temporal.mtls }}
{{- if .existingSecret }}
- name: temporal-tls
  mountPath: {{ .mountPath | quote }}
  readOnly: true
{{- end }}
{{- end }}
{{- end }}

{{/* startup, liveness and readiness probes on a named port: (dict "root" $ "port" NAME). */}}
{{- define "baton.probes" -}}
{{- $p := .root.Values.probes -}}
startupProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
  {{- toYaml $p.startup | nindent 2 }}
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
  {{- toYaml $p.liveness | nindent 2 }}
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ .port }}
  {{- toYaml $p.readiness | nindent 2 }}
{{- end }}

{{/* Pod-level fields of every component: (dict "root" $ "values" .Values.<component>). */}}
{{- define "baton.podCommon" -}}
{{- $root := .root -}}
serviceAccountName: {{ include "baton.serviceAccountName" $root }}
automountServiceAccountToken: false
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if or .values.spreadAcrossNodes .values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- if .values.spreadAcrossNodes }}
  - maxSkew: 1  # soft: replicas on distinct nodes when the cluster has room, so one node's loss takes one replica
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "baton.selectorLabels" . | nindent 8 }}
  {{- end }}
  {{- with .values.topologySpreadConstraints }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* A PodDisruptionBudget when enabled: (dict "root" $ "component" NAME "values" .Values.<component>). */}}
{{- define "baton.pdb" -}}
{{- with .values.podDisruptionBudget }}
{{- if .enabled }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "baton.componentName" $ }}
  labels:
    {{- include "baton.componentLabels" $ | nindent 4 }}
spec:
  {{- if hasKey . "minAvailable" }}
  minAvailable: {{ .minAvailable }}
  {{- else }}
  maxUnavailable: {{ .maxUnavailable }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "baton.selectorLabels" $ | nindent 6 }}
{{- end }}
{{- end }}
{{- end }}

{{/* A HorizontalPodAutoscaler on CPU when enabled: (dict "root" $ "component" NAME "values" ...). */}}
{{- define "baton.hpa" -}}
{{- with .values.autoscaling }}
{{- if .enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "baton.componentName" $ }}
  labels:
    {{- include "baton.componentLabels" $ | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "baton.componentName" $ }}
  minReplicas: {{ .minReplicas }}
  maxReplicas: {{ .maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .targetCPUUtilizationPercentage }}
  {{- if .scaleDownStabilizationSeconds }}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: {{ .scaleDownStabilizationSeconds }}
  {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* "true" when the workers keep SQLite checkpoints (no PostgreSQL DSN in a Secret or in worker.config), else "". */}}
{{- define "baton.workerUsesSqlite" -}}
{{- if not (or .Values.worker.checkpointer.existingSecret (hasPrefix "postgres" (toString .Values.worker.config.checkpointer))) -}}
true
{{- end -}}
{{- end }}
