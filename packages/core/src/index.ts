/**
 * `@stratus/core`: the resource model, state machines, store, settings, events, the driver and
 * allocator contracts, and the services an embedding control plane calls.
 *
 * Every name exported here is public API, locked by the API report in `packages/core/api/`.
 * What driver packages and the testkit need beyond the contract is in `@stratus/core/driver-kit`
 * (`driver-kit.ts`); everything else in `src/` is private to core (see ARCHITECTURE.md, "The
 * public API").
 *
 * @packageDocumentation
 * @module @stratus/core
 */

export type {
  Allocator,
  ClusterSequence,
  DeploymentPlanner,
  HostAllocator,
  Placement,
  StoragePoolAllocator,
} from './allocation/allocator-contract.js';
export { type CoverageViolation, checkCoverage } from './allocation/coverage.js';
export type {
  AffinityRule,
  DeployDestination,
  DeploymentPlan,
  DiskProfile,
  VmProfile,
} from './allocation/deployment-plan.js';
export { type AvoidLevel, ExcludeList, type HostLocation, type PoolLocation } from './allocation/exclude-list.js';
export { CapacityConflictError, PlacementError } from './allocation/placement-error.js';
export {
  countReason,
  emptyLevel,
  type LevelExplanation,
  type PlacementExplanation,
  type PlacementLevel,
  summariseLevel,
} from './allocation/placement-explanation.js';
export { type BuiltInReasonCode, REASON_CODES, type ReasonCode, reasonLabel } from './allocation/reason-codes.js';
export { CapacityIndex, defaultPlacementSettings } from './capacity/capacity-index.js';
export {
  CAPACITY_TYPE_IDS,
  type CapacityReportQuery,
  type CapacityReportRow,
  type CapacityType,
  capacityReport,
} from './capacity/capacity-report.js';
export {
  type AllocateStorageInput,
  type BookStartInput,
  type CapacityDelta,
  CapacityService,
  type HostCapacityRow,
} from './capacity/capacity-service.js';
export { demandOf, MIB } from './capacity/demand.js';
export {
  capacityFit,
  clusterThreshold,
  cpuCapability,
  hostAvailability,
  overprovisionedLimit,
  ownReservation,
  tagsSubset,
  usedFraction,
} from './capacity/host-fit.js';
export type {
  ClusterState,
  ClusterUsage,
  Dedication,
  Demand,
  HeldReservation,
  HostState,
  ImplicitDedicationMode,
  PlacementSettings,
  PlacementState,
  PodState,
  PoolState,
  ZoneState,
} from './capacity/placement-state.js';
export { effectiveStorageFactor, poolCapacityLimit, poolFit } from './capacity/pool-fit.js';
export { Cloud, type CloudOptions, createCloud } from './cloud.js';
export { type Caller, type ResolvedCaller, ROOT_ADMIN } from './context/caller.js';
export { type Clock, systemClock } from './context/clock.js';
export { type Logger, silentLogger } from './context/logger.js';
export {
  DRIVER_ERROR_CODES,
  DriverError,
  type DriverErrorCode,
  type DriverErrorOptions,
  type DriverErrorScope,
} from './driver/driver-error.js';
export { type DriverListing, DriverRegistry, type DriverRegistryInit } from './driver/driver-registry.js';
export type {
  ConnectTarget,
  DriverCredentials,
  HostCpuCapabilities,
  HostReport,
  LocalStorageReport,
} from './driver/host-report.js';
export type {
  HealthCheckResult,
  HostStats,
  PingOptions,
  PingReport,
  VmPowerReport,
  VmPowerState,
} from './driver/host-status.js';
export type { HypervisorCapabilities } from './driver/hypervisor-capabilities.js';
export type {
  HypervisorDriver,
  HypervisorOperation,
  OptionalHypervisorOperation,
  RequiredHypervisorOperation,
  VolumeSnapshotOperations,
} from './driver/hypervisor-driver.js';
export type { HypervisorTypeName } from './driver/hypervisor-type.js';
export type {
  DevicePingResult,
  DeviceUsageCounter,
  FirewallDevice,
  FirewallDeviceDriver,
  FirewallProtocol,
  FirewallRuleConfig,
  GuestNetworkConfig,
  LbAlgorithm,
  LbDestination,
  LbHealthCheckPolicy,
  LbHealthReport,
  LbSslCert,
  LbStickinessPolicy,
  LoadBalancerConfig,
  LoadBalancerDevice,
  LoadBalancerDeviceDriver,
  NetworkDevice,
  NetworkDeviceConfig,
  NetworkDeviceDriver,
  PortForwardingConfig,
  RemoteAccessVpnConfig,
  StaticNatConfig,
  VpnUserConfig,
} from './driver/network-device-driver.js';
export type {
  CheckNetworkResult,
  NetworkCleanupResult,
  NetworkSetupResult,
  TrafficLabelCheck,
} from './driver/network-plumbing.js';
export type { HostRef, OperationContext } from './driver/operation-context.js';
export type {
  BackupSnapshotOptions,
  CreateVolumeOptions,
  MigrateVolumeOptions,
  PoolRef,
  PoolSpec,
  PoolType,
  ResizeVolumeOptions,
  SecondaryStoreRef,
  SnapshotBackupResult,
  SnapshotRef,
  SnapshotResult,
  SnapshotSpec,
  StagedTemplate,
  StoragePoolReport,
  StorageStats,
  TemplateResult,
  TemplateSpec,
  TemplateTarget,
  VolumeRef,
  VolumeResult,
  VolumeSpec,
} from './driver/storage-spec.js';
export type {
  ConsoleInfo,
  ConsoleProtocol,
  InvestigationResult,
  MigrateVmOptions,
  MigrateVmResult,
  RevertVmSnapshotResult,
  ScaleVmSpec,
  StartVmResult,
  StopVmOptions,
  VmRuntimeState,
  VmSnapshotResult,
  VmSnapshotSpec,
  VmStats,
} from './driver/vm-operations.js';
export type {
  BootDevice,
  DiskFormat,
  DiskSpec,
  DiskType,
  NicSpec,
  NicTrafficType,
  VmSpec,
  VmSpecType,
} from './driver/vm-spec.js';
export {
  AccountDisabledError,
  AuthenticationError,
  ConcurrentModificationError,
  DuplicateError,
  HttpCode,
  InsufficientCapacityError,
  InvalidParameterError,
  InvalidStateError,
  MissingDependencyError,
  NoTransitionError,
  NotFoundError,
  PermissionDeniedError,
  ResourceInUseError,
  ResourceLimitError,
  ResourceUnavailableError,
  StratusError,
  type StratusErrorOptions,
  UnsupportedError,
} from './errors.js';
export { EventBus, type EventListener } from './events/event-bus.js';
export {
  type EventInput,
  type EventLevel,
  type EventState,
  isStateChange,
  type ResourceType,
  type StateChangeParameters,
  type StratusEvent,
} from './events/event-types.js';
export {
  type GuestVlan,
  type GuestVlanDedication,
  GuestVlanService,
  type GuestVlanServiceOptions,
  type TakeGuestVlanRequest,
} from './ipam/guest-vlans.js';
export {
  type CreateGuestIpRangeInput,
  type CreatePublicIpRangeInput,
  GuestIpRangeService,
  MAX_RANGE_SIZE,
  PublicIpRangeService,
} from './ipam/ip-ranges.js';
export type {
  IpAllocation,
  IpAllocationState,
  IpOwnerType,
  IpRange,
  IpRangeSpace,
  IpSpace,
  PoolUsage,
  VlanType,
} from './ipam/records.js';
export {
  AccountType,
  type AccountTypeName,
  CLUSTER_TYPES,
  type ClusterType,
  FORMATS_BY_HYPERVISOR,
  HOST_TYPES,
  type HostType,
  HYPERVISOR_TYPES,
  type HypervisorType,
  IMAGE_FORMATS,
  IMPLICIT_DEDICATION_MODES,
  type ImageFormat,
  type ImplicitDedicationModeName,
  ISOLATION_METHODS,
  type IsolationMethod,
  NETWORK_TYPES,
  type NetworkType,
  OS_CATEGORIES,
  type OsCategory,
  OVERPROVISIONED_POOL_TYPES,
  SHARED_POOL_TYPES_BY_HYPERVISOR,
  STORAGE_POOL_TYPES,
  STORAGE_SCOPES,
  STORAGE_TYPES,
  type StoragePoolType,
  type StorageScope,
  type StorageType,
  SYSTEM_VM_TYPES,
  type SystemVmType,
  TEMPLATE_TYPES,
  type TemplateType,
  TRAFFIC_TYPES,
  type TrafficType,
  ZONE_WIDE_STORAGE_HYPERVISORS,
} from './model/enums.js';
export type { ListOptions } from './model/list-options.js';
export type {
  Account,
  AffinityGroup,
  AffinityGroupType,
  Cluster,
  DedicatedResource,
  DedicationLevel,
  DiskOffering,
  Domain,
  EntityBase,
  Host,
  HypervisorCapability,
  ImageStore,
  PhysicalNetwork,
  PhysicalNetworkTrafficType,
  Pod,
  ServiceOffering,
  ServiceOfferingDetails,
  StoragePool,
  Template,
  User,
  VirtualMachine,
  VlanRange,
  Volume,
  Zone,
} from './model/records.js';
export { isUuid, type Ref } from './model/ref.js';
export { StateMachine, type TransitionRow } from './model/state-machine.js';
export {
  ACCOUNT_EVENTS,
  ACCOUNT_INITIAL_STATE,
  ACCOUNT_STATES,
  type AccountEvent,
  type AccountState,
  accountStateMachine,
  USER_EVENTS,
  USER_INITIAL_STATE,
  USER_STATES,
  type UserEvent,
  type UserState,
  userStateMachine,
} from './model/state-machines/account.js';
export {
  ALLOCATION_EVENTS,
  ALLOCATION_STATES,
  type AllocationEvent,
  type AllocationState,
  allocationStateMachine,
} from './model/state-machines/allocation-state.js';
export {
  ASYNC_JOB_EVENTS,
  ASYNC_JOB_INITIAL_STATE,
  ASYNC_JOB_STATES,
  ASYNC_JOB_STATUS_CODES,
  ASYNC_JOB_TERMINAL_STATES,
  type AsyncJobEvent,
  type AsyncJobState,
  type AsyncJobStatusCode,
  asyncJobStateMachine,
  asyncJobStateOfCode,
} from './model/state-machines/async-job.js';
export {
  CLUSTER_MANAGED_EVENTS,
  CLUSTER_MANAGED_STATES,
  type ClusterManagedEvent,
  type ClusterManagedState,
  clusterManagedStateMachine,
} from './model/state-machines/cluster-managed-state.js';
export {
  DATA_OBJECT_IN_STORE_EVENTS,
  DATA_OBJECT_IN_STORE_INITIAL_STATE,
  DATA_OBJECT_IN_STORE_STATES,
  type DataObjectInStoreEvent,
  type DataObjectInStoreState,
  dataObjectInStoreStateMachine,
} from './model/state-machines/data-object-in-store.js';
export {
  HOST_MAINTENANCE_STATES,
  HOST_RESOURCE_EVENTS,
  HOST_RESOURCE_INITIAL_EVENT,
  HOST_RESOURCE_INITIAL_STATE,
  HOST_RESOURCE_STATES,
  type HostResourceEvent,
  type HostResourceState,
  hostResourceStateMachine,
} from './model/state-machines/host-resource-state.js';
export {
  HOST_LOST_CONNECTION_STATUSES,
  HOST_STATUS_EVENTS,
  HOST_STATUS_INITIAL_EVENT,
  HOST_STATUS_INITIAL_STATE,
  HOST_STATUSES,
  type HostStatus,
  type HostStatusEvent,
  hostStatusStateMachine,
} from './model/state-machines/host-status.js';
export {
  NETWORK_EVENTS,
  NETWORK_INITIAL_STATES,
  NETWORK_STATES,
  type NetworkEvent,
  type NetworkInitialState,
  type NetworkState,
  networkStateMachine,
} from './model/state-machines/network.js';
export {
  NETWORK_OFFERING_EVENTS,
  NETWORK_OFFERING_INITIAL_STATE,
  NETWORK_OFFERING_STATES,
  type NetworkOfferingEvent,
  type NetworkOfferingState,
  networkOfferingStateMachine,
} from './model/state-machines/network-offering.js';
export {
  NIC_EVENTS,
  NIC_INITIAL_STATE,
  NIC_STATES,
  type NicEvent,
  type NicState,
  nicStateMachine,
} from './model/state-machines/nic.js';
export {
  PHYSICAL_NETWORK_EVENTS,
  PHYSICAL_NETWORK_INITIAL_STATE,
  PHYSICAL_NETWORK_STATES,
  type PhysicalNetworkEvent,
  type PhysicalNetworkState,
  physicalNetworkStateMachine,
} from './model/state-machines/physical-network.js';
export {
  PROJECT_EVENTS,
  PROJECT_INITIAL_STATE,
  PROJECT_STATES,
  type ProjectEvent,
  type ProjectState,
  projectStateMachine,
} from './model/state-machines/project.js';
export {
  PUBLIC_IP_EVENTS,
  PUBLIC_IP_INITIAL_STATE,
  PUBLIC_IP_STATES,
  type PublicIpEvent,
  type PublicIpState,
  publicIpStateMachine,
} from './model/state-machines/public-ip.js';
export {
  SNAPSHOT_EVENTS,
  SNAPSHOT_INITIAL_STATE,
  SNAPSHOT_STATES,
  type SnapshotEvent,
  type SnapshotState,
  snapshotStateMachine,
} from './model/state-machines/snapshot.js';
export {
  STORAGE_POOL_EVENTS,
  STORAGE_POOL_INITIAL_STATE,
  STORAGE_POOL_STATES,
  type StoragePoolEvent,
  type StoragePoolState,
  storagePoolStateMachine,
} from './model/state-machines/storage-pool.js';
export {
  TEMPLATE_EVENTS,
  TEMPLATE_REGISTERED_INITIAL_STATE,
  TEMPLATE_STATES,
  TEMPLATE_UPLOAD_INITIAL_STATE,
  type TemplateEvent,
  type TemplateState,
  templateStateMachine,
} from './model/state-machines/template.js';
export {
  VM_EVENTS,
  VM_INITIAL_STATE,
  VM_STATES,
  VM_TRANSITIONAL_STATES,
  type VmEvent,
  type VmState,
  vmStateMachine,
} from './model/state-machines/vm.js';
export {
  VOLUME_EVENTS,
  VOLUME_INITIAL_STATE,
  VOLUME_STATES,
  VOLUME_UPLOAD_INITIAL_STATE,
  type VolumeEvent,
  type VolumeState,
  volumeStateMachine,
} from './model/state-machines/volume.js';
export type { CreateNetworkInput, GuestNetworkLifecycle } from './network/guest-network-lifecycle.js';
export { GuestNetworkService } from './network/guest-networks.js';
export type { AllocateNicInput, GuestNicOperations } from './network/guest-nic-operations.js';
export type { NetworkServices } from './network/network-layer.js';
export { type CreateNetworkOfferingInput, NetworkOfferingService } from './network/network-offerings.js';
export { NetworkRuleConflictError } from './network/network-rule-conflict-error.js';
export {
  type CreateEgressRuleInput,
  type CreateFirewallRuleInput,
  type CreateLoadBalancerInput,
  type CreatePortForwardingInput,
  NetworkRuleService,
  type PortRange,
} from './network/network-rules.js';
export { PublicIpService } from './network/public-ips.js';
export type {
  HealthCheckPolicy,
  LbMember,
  Network,
  NetworkAcl,
  NetworkAclItem,
  NetworkOffering,
  NetworkRule,
  Nic,
  PrivateGateway,
  RemoteAccessVpn,
  RemoteAccessVpnState,
  RulePurpose,
  RuleState,
  SecurityGroup,
  SecurityGroupRule,
  StaticNat,
  StickinessPolicy,
  Vpc,
  VpnUser,
  VpnUserState,
} from './network/records.js';
export {
  type EnableRemoteAccessVpnInput,
  RemoteAccessVpnService,
  VPN_UDP_PORTS,
  type VpnUserInput,
} from './network/remote-access-vpn.js';
export {
  DEFAULT_SECURITY_GROUP,
  type EffectiveRule,
  type EffectiveSecurityRules,
  type SecurityGroupRuleInput,
  SecurityGroupService,
} from './network/security-groups.js';
export {
  EGRESS_POLICIES,
  type EgressPolicy,
  EXTERNAL_LB_PROVIDERS,
  GUEST_TYPES,
  type GuestType,
  LB_ALGORITHMS,
  type LbAlgorithmName,
  NETWORK_PROVIDERS,
  NETWORK_SERVICES,
  type NetworkProvider,
  type NetworkService,
  OFFERING_AVAILABILITIES,
  type OfferingAvailability,
  RULE_PROTOCOLS,
  type RuleProtocol,
  type ServiceProviderMap,
  STICKINESS_METHODS,
  type StickinessMethod,
} from './network/services.js';
export {
  type AclItemInput,
  type AclQuery,
  type CreateTierInput,
  type CreateVpcInput,
  VpcService,
} from './network/vpcs.js';
export { type ZoneReadiness, type ZoneReadinessProblem, ZoneReadinessService } from './network/zone-readiness.js';
export {
  AffinityGroupService,
  type CreateAffinityGroupInput,
  USER_AFFINITY_GROUP_TYPES,
  type VmAffinity,
} from './orchestration/affinity-groups.js';
export { BackgroundTasks, type PeriodicTask } from './orchestration/background-tasks.js';
export { type DedicateTo, type DedicationFilter, DedicationService } from './orchestration/dedications.js';
export { HostReconciler, type ReconcileReport } from './orchestration/host-reconciler.js';
export type {
  ImageDownloadRequest,
  ImageObject,
  ImageStoreCallOptions,
  ImageStoreDriver,
} from './orchestration/image-store-driver.js';
export { type LocalImageStoreOptions, localImageStoreDriver } from './orchestration/image-store-driver-local.js';
export {
  type Job,
  JobAbortedError,
  type JobError,
  type JobHandle,
  JobService,
  type JobSpec,
  type SubmittedJob,
} from './orchestration/jobs.js';
export { ManagementServer } from './orchestration/management-server.js';
export { Recovery, type RecoveryOptions, type RecoveryReport } from './orchestration/recovery.js';
export type { SnapshotLifecycle } from './orchestration/snapshot-lifecycle.js';
export type { PolicyRunReport, SnapshotPolicies } from './orchestration/snapshot-policies.js';
export type { SnapshotPolicy, SnapshotRecord } from './orchestration/snapshot-records.js';
export type { SnapshotRestore } from './orchestration/snapshot-restore.js';
export { SnapshotService } from './orchestration/snapshots.js';
export {
  SNAPSHOT_INTERVALS,
  type SnapshotInterval,
  type SnapshotSchedule,
} from './orchestration/snapshots-schedule.js';
export { type SshKeyPair, SshKeyPairService } from './orchestration/ssh-keypairs.js';
export {
  type DownloadState,
  type StageOptions,
  type TemplatePoolRef,
  TemplateStorageService,
  type TemplateStoreRef,
} from './orchestration/templates-storage.js';
export { type DeployJob, type DeployVmInput, VirtualMachineService } from './orchestration/virtual-machines.js';
export type { VmDetails } from './orchestration/vm-records.js';
export type { VolumeAttachment } from './orchestration/volume-attachment.js';
export type { CreateOptions, VolumeCreation, VolumeCreationSteps } from './orchestration/volume-creation.js';
export type { CreateVolumeInput, VmVolumeOwner, VolumeCrud } from './orchestration/volume-crud.js';
export type { VolumeMigration } from './orchestration/volume-migration.js';
export type { VolumeRecord } from './orchestration/volume-record.js';
export type { VolumeRemoval } from './orchestration/volume-removal.js';
export type { VolumeResize } from './orchestration/volume-resize.js';
export { VolumeService } from './orchestration/volumes.js';
export type { CallerCredential } from './resources/callers.js';
export { HypervisorCapabilityService } from './resources/capabilities.js';
export { ClusterService, type CreateClusterInput } from './resources/clusters.js';
export { EventService, type ListEventsFilter, type UsageEvent } from './resources/events.js';
export { type AddHostInput, HostService } from './resources/hosts.js';
export { ImageStoreService } from './resources/image-stores.js';
export {
  type CreateDiskOfferingInput,
  type CreateServiceOfferingInput,
  OfferingService,
} from './resources/offerings.js';
export { type CreatePhysicalNetworkInput, PhysicalNetworkService } from './resources/physical-networks.js';
export { type CreatePodInput, PodService, type UpdatePodInput } from './resources/pods.js';
export {
  type LimitedResource,
  RESOURCE_TYPES,
  type ResourceLimit,
  ResourceLimitService,
} from './resources/resource-limits.js';
export { type CreateStoragePoolInput, StoragePoolService } from './resources/storage-pools.js';
export { type RegisterTemplateInput, type TemplateFilter, TemplateService } from './resources/templates.js';
export {
  type CreateAccountInput,
  type CreateDomainInput,
  type CreateUserInput,
  ROOT_DOMAIN_ID,
  SYSTEM_ACCOUNT_ID,
  TenancyService,
} from './resources/tenancy.js';
export { type CreateZoneInput, type UpdateZoneInput, ZoneService } from './resources/zones.js';
export {
  isSettingKey,
  SETTING_KEYS,
  SETTING_SCOPES,
  SETTINGS,
  type SettingDefinition,
  type SettingKey,
  type SettingScope,
  type SettingsCatalog,
  type SettingType,
  type SettingValue,
  type SettingValueType,
  settingDefinition,
} from './settings/catalog.js';
export { SettingsService, type SettingTarget } from './settings/settings-service.js';
export type { StoreEngine } from './store/dialect.js';
export { type PostgresStoreOptions, postgresStore } from './store/postgres-store.js';
export { type SqliteStoreOptions, sqliteStore } from './store/sqlite-store.js';
export { Store } from './store/store.js';
