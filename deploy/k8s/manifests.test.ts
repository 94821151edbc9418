// Renders the dev overlay with `kubectl kustomize` (offline, no cluster) and checks every object
// against the Kubernetes schemas (kubernetes-models), then what the schemas cannot see: probes on
// the contract's endpoints and ports, resources, HPA targets, volumes, shutdown timing.
// Needs kubectl on PATH (or KUBECTL=/path/to/kubectl); Debian: apt-get install -y kubernetes-client.
import { describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { parseAllDocuments } from 'yaml'
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1'
import type { IContainer, IPodSpec, IPodTemplateSpec, IServicePort } from 'kubernetes-models/v1'
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1'
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2'
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1'
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1'

interface K8sObject {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string> }
  // biome-ignore lint/suspicious/noExplicitAny: rendered YAML of many kinds; the schema test below vouches for its shape
  spec?: any
  data?: Record<string, string>
}

// biome-ignore lint/suspicious/noExplicitAny: each model class takes its own kind's shape
const models: Record<string, new (data: any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
}

// The contract's ports (shared/contract/README.md).
const appPorts: Record<string, number> = {
  router: 4000,
  item: 4001,
  reservation: 4002,
  payment: 4003,
  projections: 4004,
}

function render(overlay: string): K8sObject[] {
  const kubectl = process.env.KUBECTL ?? 'kubectl'
  let out: string
  try {
    out = execFileSync(kubectl, ['kustomize', overlay], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string }
    if (err.code === 'ENOENT')
      throw new Error(
        `${kubectl} not found: install kubectl (Debian: apt-get install -y kubernetes-client) or set KUBECTL`,
      )
    throw new Error(`kubectl kustomize ${overlay} failed: ${err.stderr ?? err.message}`)
  }
  return parseAllDocuments(out)
    .map(d => d.toJS() as K8sObject)
    .filter(Boolean)
}

const objects = render(path.resolve(import.meta.dirname, 'overlays/dev'))
const all = (kind: string) => objects.filter(o => o.kind === kind)
const one = (kind: string, name: string): K8sObject => {
  const found = objects.find(o => o.kind === kind && o.metadata.name === name)
  if (!found) throw new Error(`no ${kind} ${name} in the rendered overlay`)
  return found
}
const template = (o: K8sObject): IPodTemplateSpec => o.spec.template
const podSpec = (o: K8sObject): IPodSpec => template(o).spec!
const mainContainer = (o: K8sObject): IContainer => podSpec(o).containers.find(c => c.name === o.metadata.name)!
const envValue = (c: IContainer, name: string) => c.env?.find(e => e.name === name)?.value
const configMap = () => all('ConfigMap')[0]!
const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v)
const workloads = () => [...all('Deployment'), ...all('StatefulSet')]
const apps = () => workloads().filter(w => w.metadata.name in appPorts)

/** The container port number a probe or Service targets, by name or number. */
function containerPort(c: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return c.ports?.some(p => p.containerPort === port) ? port : undefined
  return c.ports?.find(p => p.name === port)?.containerPort
}

describe('deploy/k8s/overlays/dev', () => {
  test('every object is valid against the Kubernetes schema of its kind', () => {
    expect(objects.length).toBeGreaterThan(20)
    const problems = objects.flatMap(o => {
      const Model = models[`${o.apiVersion}/${o.kind}`]
      if (!Model)
        return [`${o.kind} ${o.metadata.name}: no schema check for ${o.apiVersion} ${o.kind}, add it to the test`]
      try {
        new Model(o).validate()
        return []
      } catch (e) {
        return [`${o.kind} ${o.metadata.name}: ${(e as Error).message}`]
      }
    })
    expect(problems).toEqual([])
  })

  test('everything lives in the gdmarket namespace', () => {
    for (const o of objects.filter(x => x.kind !== 'Namespace'))
      expect([o.kind, o.metadata.name, o.metadata.namespace]).toEqual([o.kind, o.metadata.name, 'gdmarket'])
  })

  test('the stateless processes (and Redis, which keeps nothing) are Deployments; payment, NATS and PostgreSQL are StatefulSets', () => {
    expect(
      all('Deployment')
        .map(d => d.metadata.name)
        .sort(),
    ).toEqual(['item', 'projections', 'redis', 'reservation', 'router'])
    expect(
      all('StatefulSet')
        .map(d => d.metadata.name)
        .sort(),
    ).toEqual(['nats', 'payment', 'postgres'])
    expect(one('StatefulSet', 'payment').spec.replicas).toBe(1)
  })

  test.each(Object.entries(appPorts))(
    '%s: readiness on /health/ready and liveness on /health/live, on its own port',
    (name, port) => {
      const w = workloads().find(x => x.metadata.name === name)!
      const c = mainContainer(w)
      expect(envValue(c, 'SERVICE')).toBe(name)
      expect(envValue(c, 'PORT')).toBe(String(port))
      expect(c.readinessProbe?.httpGet?.path).toBe('/health/ready')
      expect(containerPort(c, c.readinessProbe?.httpGet?.port)).toBe(port)
      expect(c.livenessProbe?.httpGet?.path).toBe('/health/live')
      expect(containerPort(c, c.livenessProbe?.httpGet?.port)).toBe(port)
    },
  )

  test('every container has CPU and memory requests and limits', () => {
    for (const w of workloads()) {
      for (const c of podSpec(w).containers) {
        for (const kind of ['requests', 'limits'] as const) {
          expect([w.metadata.name, kind, Object.keys(c.resources?.[kind] ?? {}).sort()]).toEqual([
            w.metadata.name,
            kind,
            ['cpu', 'memory'],
          ])
        }
      }
    }
  })

  test('settings come from the ConfigMap, secrets from the Secret, and both exist', () => {
    const cm = configMap()
    const secret = all('Secret')[0]!
    expect(Object.keys(cm.data ?? {})).toEqual(
      expect.arrayContaining([
        'NATS_URL',
        'ITEM_URL',
        'RESERVATION_URL',
        'PAYMENT_URL',
        'PROJECTIONS_URL',
        'PAYMENT_TIMEOUT_MS',
        'SHUTDOWN_GRACE_MS',
      ]),
    )
    expect(Object.keys(cm.data ?? {})).not.toEqual(expect.arrayContaining(['JWT_SECRET']))
    expect(Object.keys(cm.data ?? {})).not.toEqual(expect.arrayContaining(['INTERNAL_SECRET']))
    expect(Object.keys(secret.data ?? {}).sort()).toEqual([
      'INTERNAL_SECRET',
      'JWT_SECRET',
      'NATS_PASSWORD',
      'NATS_USER',
      'POSTGRES_PASSWORD',
    ])
    for (const w of apps()) {
      const c = mainContainer(w)
      expect(c.envFrom?.map(e => e.configMapRef?.name)).toEqual([cm.metadata.name])
      const secretRefs = (c.env ?? []).flatMap(e => (e.valueFrom?.secretKeyRef ? [e.valueFrom.secretKeyRef] : []))
      expect(secretRefs.map(r => r.key)).toContain('INTERNAL_SECRET')
      for (const ref of secretRefs) {
        expect(ref.name).toBe(secret.metadata.name)
        expect(Object.keys(secret.data ?? {})).toContain(ref.key)
      }
    }
    const routerSecrets = mainContainer(one('Deployment', 'router')).env!.flatMap(
      e => e.valueFrom?.secretKeyRef?.key ?? [],
    )
    expect(routerSecrets).toContain('JWT_SECRET')
  })

  test('shutdown: no preStop hook, and the grace period outlasts SHUTDOWN_GRACE_MS + SHUTDOWN_TIMEOUT_MS', () => {
    const cm = configMap().data!
    const needMs = Number(cm.SHUTDOWN_GRACE_MS) + Number(cm.SHUTDOWN_TIMEOUT_MS)
    expect(Number(cm.SHUTDOWN_GRACE_MS)).toBeGreaterThan(0)
    for (const w of apps()) {
      expect(podSpec(w).containers.every(c => !c.lifecycle?.preStop)).toBe(true)
      expect((podSpec(w).terminationGracePeriodSeconds ?? 30) * 1000).toBeGreaterThan(needMs + 5000)
    }
  })

  test('HPAs scale router and reservation 1→10 on CPU, and own their replica counts', () => {
    const hpas = all('HorizontalPodAutoscaler')
    expect(hpas.map(h => h.spec.scaleTargetRef.name).sort()).toEqual(['reservation', 'router'])
    for (const h of hpas) {
      const target = one(h.spec.scaleTargetRef.kind, h.spec.scaleTargetRef.name)
      expect(target.apiVersion).toBe(h.spec.scaleTargetRef.apiVersion)
      expect(target.spec.replicas).toBeUndefined() // else every `kubectl apply` resets the HPA's choice
      expect(mainContainer(target).resources?.requests?.cpu).toBeDefined() // utilization is relative to it
      expect([h.spec.minReplicas, h.spec.maxReplicas]).toEqual([1, 10])
      expect(h.spec.metrics).toEqual([
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: expect.any(Number) } },
        },
      ])
    }
    expect(one('HorizontalPodAutoscaler', 'reservation').spec.metrics[0].resource.target.averageUtilization).toBe(15)
  })

  test('every Service selects a workload and targets one of its container ports', () => {
    for (const s of all('Service')) {
      const w = workloads().find(x => matches(s.spec.selector, template(x).metadata?.labels))
      expect([s.metadata.name, Boolean(w)]).toEqual([s.metadata.name, true])
      for (const p of s.spec.ports as IServicePort[]) {
        expect([
          s.metadata.name,
          podSpec(w!).containers.some(c => containerPort(c, p.targetPort ?? p.port) !== undefined),
        ]).toEqual([s.metadata.name, true])
      }
    }
    for (const name of Object.keys(appPorts)) expect(one('Service', name).spec.ports[0].port).toBe(appPorts[name])
    for (const ss of all('StatefulSet')) expect(one('Service', ss.spec.serviceName).spec.clusterIP).toBe('None')
  })

  test('every workload has a PodDisruptionBudget that selects it', () => {
    const pdbs = all('PodDisruptionBudget')
    for (const w of workloads()) {
      expect([
        w.metadata.name,
        pdbs.filter(p => matches(p.spec.selector.matchLabels, template(w).metadata?.labels)).length,
      ]).toEqual([w.metadata.name, 1])
    }
  })

  test('payment keeps its SQLite file on a PersistentVolumeClaim', () => {
    const payment = one('StatefulSet', 'payment')
    const c = mainContainer(payment)
    const file = envValue(c, 'DATABASE_URL')!.replace(/^file:/, '')
    expect(path.isAbsolute(file)).toBe(true)
    const mount = c.volumeMounts!.find(m => path.dirname(file) === m.mountPath)
    expect(mount).toBeDefined()
    expect(payment.spec.volumeClaimTemplates.map((t: K8sObject) => t.metadata.name)).toContain(mount!.name)
    expect(podSpec(payment).securityContext?.fsGroup).toBe(podSpec(payment).securityContext?.runAsUser)
  })

  test('NATS runs JetStream and NATS and PostgreSQL keep their data on volumes', () => {
    const nats = mainContainer(one('StatefulSet', 'nats'))
    expect(nats.args).toEqual(expect.arrayContaining(['-js', '-sd']))
    for (const name of ['nats', 'postgres']) {
      const ss = one('StatefulSet', name)
      const claims = ss.spec.volumeClaimTemplates.map((t: K8sObject) => t.metadata.name)
      expect(mainContainer(ss).volumeMounts!.some(m => claims.includes(m.name))).toBe(true)
    }
  })

  test('NATS is a 3-node JetStream cluster and the streams are created with replicas: 3', () => {
    const ss = one('StatefulSet', 'nats')
    expect(ss.spec.replicas).toBe(3)
    expect(ss.spec.podManagementPolicy).toBe('Parallel')
    const args = mainContainer(ss).args ?? []
    const arg = (flag: string) => args[args.indexOf(flag) + 1]
    expect(arg('--server_name')).toBe('$(POD_NAME)')
    expect(arg('--cluster')).toBe(`nats://0.0.0.0:${containerPort(mainContainer(ss), 'cluster')}`)
    // A route to every node by its stable name under the headless Service.
    const service = one('Service', 'nats')
    expect(service.spec.clusterIP).toBe('None')
    expect(service.spec.publishNotReadyAddresses).toBe(true)
    expect(arg('--routes').split(',')).toEqual(
      [0, 1, 2].map(i => `nats://nats-${i}.${ss.spec.serviceName}:${containerPort(mainContainer(ss), 'cluster')}`),
    )
    expect(ss.spec.serviceName).toBe(service.metadata.name)
    // The other two keep the majority while one is drained.
    const pdb = all('PodDisruptionBudget').find(p => selects(p.spec.selector, podLabels(ss)))!
    expect(pdb.spec.minAvailable).toBe(2)
    const config = all('ConfigMap')[0]!
    expect(config.data?.NATS_STREAM_REPLICAS).toBe('3')
    // The stream's size limit stays below the node's volume.
    const volume = ss.spec.volumeClaimTemplates[0].spec.resources.requests.storage as string
    expect(Number(config.data?.NATS_STREAM_MAX_BYTES)).toBeLessThan(Number.parseInt(volume, 10) * 1024 ** 3)
  })

  test('PostgreSQL users build DATABASE_URL from the Secret, never with a password in plain text', () => {
    for (const name of ['item', 'reservation', 'projections']) {
      const c = mainContainer(one('Deployment', name))
      const names = c.env!.map(e => e.name)
      expect(envValue(c, 'DATABASE_URL')).toBe(
        `postgresql://postgres:$(POSTGRES_PASSWORD)@postgres:5432/gdmarket_${name}`,
      )
      // $(VAR) only expands variables defined earlier in the list.
      expect(names.indexOf('POSTGRES_PASSWORD')).toBeLessThan(names.indexOf('DATABASE_URL'))
    }
  })

  interface LabelSelector {
    matchLabels?: Record<string, string>
    matchExpressions?: { key: string; operator: string; values?: string[] }[]
  }
  /** Whether a label selector (matchLabels and matchExpressions) selects pods with `labels`. */
  const selects = (selector: LabelSelector, labels: Record<string, string> = {}) =>
    matches(selector.matchLabels ?? {}, labels) &&
    (selector.matchExpressions ?? []).every(e => {
      const has = e.key in labels
      if (e.operator === 'In') return has && (e.values ?? []).includes(labels[e.key]!)
      if (e.operator === 'NotIn') return !has || !(e.values ?? []).includes(labels[e.key]!)
      if (e.operator === 'Exists') return has
      return !has
    })
  const podLabels = (w: K8sObject) => template(w).metadata?.labels ?? {}

  /** Which workloads may connect to `target`, on which of its container ports: what its NetworkPolicies allow. */
  function admitted(target: K8sObject): { from: string[]; ports: number[] } {
    const policies = all('NetworkPolicy').filter(p => selects(p.spec.podSelector, podLabels(target)))
    expect([target.metadata.name, policies.length > 0]).toEqual([target.metadata.name, true])
    const from = new Set<string>()
    const ports = new Set<number>()
    for (const p of policies) {
      expect(p.spec.policyTypes).toContain('Ingress')
      for (const rule of p.spec.ingress ?? []) {
        // No rule that lets in everyone, another namespace or an address range.
        expect(rule.from?.length).toBeGreaterThan(0)
        for (const peer of rule.from) {
          expect(Object.keys(peer)).toEqual(['podSelector'])
          for (const w of workloads()) if (selects(peer.podSelector, podLabels(w))) from.add(w.metadata.name)
        }
        expect(rule.ports?.length).toBeGreaterThan(0)
        for (const port of rule.ports) {
          const n = containerPort(mainContainer(target), port.port)
          expect([target.metadata.name, port.port, n]).toEqual([target.metadata.name, port.port, expect.any(Number)])
          ports.add(n!)
        }
      }
    }
    return { from: [...from].sort(), ports: [...ports].sort() }
  }

  test('NetworkPolicy: only the router reaches a subgraph (item reaches reservation, reservation payment), on its own port', () => {
    expect(admitted(one('Deployment', 'reservation'))).toEqual({ from: ['item', 'router'], ports: [4002] })
    for (const name of ['item', 'projections'])
      expect([name, admitted(workloads().find(w => w.metadata.name === name)!)]).toEqual([
        name,
        { from: ['router'], ports: [appPorts[name]] },
      ])
    expect(admitted(one('StatefulSet', 'payment'))).toEqual({ from: ['reservation', 'router'], ports: [4003] })
    // The router is the public endpoint: no policy closes it.
    expect(
      all('NetworkPolicy').filter(p => selects(p.spec.podSelector, podLabels(one('Deployment', 'router')))),
    ).toEqual([])
  })

  test('NetworkPolicy: NATS only from GDmarket’s processes, PostgreSQL only from the subgraphs that use it', () => {
    // The processes on the client port; the nodes themselves on the cluster port.
    expect(admitted(one('StatefulSet', 'nats'))).toEqual({
      from: [...Object.keys(appPorts), 'nats'].sort(),
      ports: [4222, 6222],
    })
    expect(admitted(one('StatefulSet', 'postgres'))).toEqual({
      from: ['item', 'projections', 'reservation'],
      ports: [5432],
    })
  })

  test('NATS requires a user and password from the Secret, and every process logs in with them', () => {
    const secret = all('Secret')[0]!
    const fromSecret = (c: IContainer, name: string) =>
      c.env?.find(e => e.name === name)?.valueFrom?.secretKeyRef?.key === name &&
      c.env?.find(e => e.name === name)?.valueFrom?.secretKeyRef?.name === secret.metadata.name
    const nats = mainContainer(one('StatefulSet', 'nats'))
    const args = nats.args ?? []
    expect(args[args.indexOf('--user') + 1]).toBe('$(NATS_USER)')
    expect(args[args.indexOf('--pass') + 1]).toBe('$(NATS_PASSWORD)')
    expect([fromSecret(nats, 'NATS_USER'), fromSecret(nats, 'NATS_PASSWORD')]).toEqual([true, true])
    for (const w of apps())
      expect([
        w.metadata.name,
        fromSecret(mainContainer(w), 'NATS_USER'),
        fromSecret(mainContainer(w), 'NATS_PASSWORD'),
      ]).toEqual([w.metadata.name, true, true])
  })
})
