import type { CloudContext, Writer } from '../context.js';
import {
  DuplicateError,
  InvalidParameterError,
  NotFoundError,
  PermissionDeniedError,
  ResourceInUseError,
} from '../errors.js';
import type { ListOptions } from '../model/list-options.js';
import type { Ref, Resolved } from '../model/ref.js';
import { optionalString, requireString } from '../model/validate.js';
import { listPaging } from '../resources/list-paging.js';
import { isRootAdmin } from '../resources/permissions.js';
import { resolveRef, resolveRefs } from '../resources/ref-resolution.js';
import { securityGroupRuleRefs, vmRefs } from '../resources/ref-tables.js';
import { accountRepo } from '../resources/tenancy.js';
import { SettingsService } from '../settings/settings-service.js';
import { json } from '../store/codec.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import { checkCidrs, checkProtocolPorts, type PortRange } from './network-rules.js';
import { decodeSecurityGroupRule, type SecurityGroup, type SecurityGroupRule, securityGroupRepo } from './records.js';
import type { RuleProtocol } from './services.js';

/** The name of every account's default group. */
export const DEFAULT_SECURITY_GROUP = 'default';

/** An ingress or egress rule to add to a security group. */
export interface SecurityGroupRuleInput extends PortRange {
  protocol: RuleProtocol;
  icmpType?: number;
  icmpCode?: number;
  /** Either CIDRs… */
  cidrs?: string[];
  /** …or groups, by owner account and group name (a group may name itself). */
  groups?: Array<{ accountId: number; name: string }>;
}

/** One rule of a VM's effective set, with group references resolved to member addresses. */
export interface EffectiveRule {
  protocol: RuleProtocol;
  startPort: number | null;
  endPort: number | null;
  icmpType: number | null;
  icmpCode: number | null;
  /** Source (ingress) or destination (egress) CIDRs; a referenced group's members appear as /32s. */
  cidrs: string[];
  /** The rule it came from. */
  ruleUuid: string;
}

/** What a hypervisor driver enforces for one VM (iptables/ebtables on KVM and XenServer). */
export interface EffectiveSecurityRules {
  vmId: number;
  /** The VM's own guest addresses. */
  addresses: string[];
  /** Allow-list; nothing else comes in (replies to allowed egress excepted: the rules are stateful). */
  ingress: EffectiveRule[];
  egress: {
    /** true while none of the VM's groups has an egress rule: all outbound traffic allowed. */
    allowAll: boolean;
    /** The allow-list once the first egress rule exists. */
    rules: EffectiveRule[];
    /** Always allowed out, even under an allow-list. */
    alwaysAllowed: Array<'dns' | 'dhcp'>;
  };
}

/**
 * Security groups (spec/networking.md §9, basic zones and SG-enabled shared networks): a `default`
 * group per account (no ingress rule = deny all in; no egress rule = allow all out); rules by CIDR
 * or by (account, group); the first egress rule turns egress into an allow-list (DNS and DHCP
 * still pass); membership is fixed when the VM is deployed; references follow the referenced
 * group's current membership, and rule changes reach every member, running or stopped.
 */
export class SecurityGroupService {
  private readonly settings: SettingsService;

  constructor(private readonly ctx: CloudContext) {
    this.settings = new SettingsService(ctx);
  }

  async get(id: Ref): Promise<SecurityGroup> {
    id = await securityGroupRepo.resolve(this.ctx.db, id);
    return securityGroupRepo.get(this.ctx.db, id);
  }

  /** An account's security groups by id; a page of them with `page`/`pageSize`, matching `keyword` by name. */
  async list(accountId: Ref, options: ListOptions = {}): Promise<SecurityGroup[]> {
    accountId = await accountRepo.resolve(this.ctx.db, accountId, 'accountId');
    return securityGroupRepo.list(this.ctx.db, { accountId }, await listPaging(this.ctx, options));
  }

  async rules(groupId: Ref, db: Db = this.ctx.db): Promise<SecurityGroupRule[]> {
    groupId = await securityGroupRepo.resolve(db, groupId, 'groupId');
    const rows = await db
      .selectFrom('securityGroupRules')
      .selectAll()
      .where('securityGroupId', '=', groupId)
      .orderBy('id')
      .execute();
    return rows.map(decodeSecurityGroupRule);
  }

  /** The account's `default` group, created on first use (in the caller's transaction). */
  async ensureDefault(w: Writer, accountId: number): Promise<SecurityGroup> {
    const [found] = await securityGroupRepo.list(w.db, { accountId, name: DEFAULT_SECURITY_GROUP });
    if (found) return found;
    const account = await accountRepo.get(w.db, accountId, 'accountId');
    const row = await w.db
      .insertInto('securityGroups')
      .values({
        uuid: newUuid(),
        created: w.now,
        removed: null,
        name: DEFAULT_SECURITY_GROUP,
        description: 'Default Security Group',
        accountId,
        domainId: account.domainId,
      })
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();
    if (row) return securityGroupRepo.decode(row);
    const [again] = await securityGroupRepo.list(w.db, { accountId, name: DEFAULT_SECURITY_GROUP });
    if (!again) throw new NotFoundError('SecurityGroup', 'name', DEFAULT_SECURITY_GROUP);
    return again;
  }

  async create(input: { name: string; description?: string; accountId?: Ref }): Promise<SecurityGroup> {
    return this.createResolved(await resolveRefs(this.ctx.db, input, { accountId: accountRepo }));
  }

  /** {@link create} with the input's references resolved to numeric ids. */
  private createResolved(
    input: Resolved<{ name: string; description?: string; accountId?: Ref }>,
  ): Promise<SecurityGroup> {
    return this.ctx.write(async (w) => {
      const accountId = this.owner(w, input.accountId);
      const account = await accountRepo.get(w.db, accountId, 'accountId');
      const name = requireString('name', input.name, { max: 255 });
      if (name.toLowerCase() === DEFAULT_SECURITY_GROUP)
        throw new InvalidParameterError('name', name, 'the default group is created automatically');
      if ((await securityGroupRepo.count(w.db, { accountId, name })) > 0)
        throw new DuplicateError('security group', 'name', name, `account ${accountId}`);
      const row = await w.db
        .insertInto('securityGroups')
        .values({
          uuid: newUuid(),
          created: w.now,
          removed: null,
          name,
          description: optionalString('description', input.description),
          accountId,
          domainId: account.domainId,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const group = securityGroupRepo.decode(row);
      await w.event({
        type: 'SG.CREATE',
        description: `security group ${name} created`,
        resourceType: 'SecurityGroup',
        resourceId: group.id,
        resourceUuid: group.uuid,
        accountId,
        domainId: account.domainId,
      });
      return group;
    });
  }

  /** Not the default group, and not while it has members. */
  async delete(id: Ref): Promise<void> {
    id = await securityGroupRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      const g = await securityGroupRepo.get(w.db, id);
      this.owner(w, g.accountId);
      if (g.name === DEFAULT_SECURITY_GROUP)
        throw new InvalidParameterError('id', id, 'the default security group cannot be deleted');
      const members = await w.db
        .selectFrom('securityGroupMembers')
        .select('vmId')
        .where('securityGroupId', '=', id)
        .execute();
      if (members.length > 0)
        throw new ResourceInUseError(`security group ${g.name} has ${members.length} member VM(s)`, {
          field: 'id',
          value: id,
        });
      await w.db.deleteFrom('securityGroupRules').where('securityGroupId', '=', id).execute();
      await securityGroupRepo.markRemoved(w.db, id, w.now);
      await w.event({
        type: 'SG.DELETE',
        description: `security group ${g.name} deleted`,
        resourceType: 'SecurityGroup',
        resourceId: id,
        resourceUuid: g.uuid,
      });
    });
  }

  async authorizeIngress(groupId: Ref, input: SecurityGroupRuleInput): Promise<SecurityGroupRule> {
    groupId = await securityGroupRepo.resolve(this.ctx.db, groupId, 'groupId');
    return this.authorize(groupId, 'ingress', input);
  }

  /** The group's first egress rule turns its members' egress into an allow-list. */
  async authorizeEgress(groupId: Ref, input: SecurityGroupRuleInput): Promise<SecurityGroupRule> {
    groupId = await securityGroupRepo.resolve(this.ctx.db, groupId, 'groupId');
    return this.authorize(groupId, 'egress', input);
  }

  async revoke(ruleId: Ref): Promise<void> {
    ruleId = await resolveRef(this.ctx.db, securityGroupRuleRefs, ruleId, 'ruleId');
    return this.ctx.write(async (w) => {
      const row = await w.db.selectFrom('securityGroupRules').selectAll().where('id', '=', ruleId).executeTakeFirst();
      if (!row) throw new NotFoundError('SecurityGroupRule', 'ruleId', ruleId);
      const g = await securityGroupRepo.get(w.db, Number(row.securityGroupId));
      this.owner(w, g.accountId);
      await w.db.deleteFrom('securityGroupRules').where('id', '=', ruleId).execute();
      await w.event({
        type: row.direction === 'ingress' ? 'SG.REVOKE.INGRESS' : 'SG.REVOKE.EGRESS',
        description: `rule ${row.uuid} revoked from security group ${g.name}`,
        resourceType: 'SecurityGroup',
        resourceId: g.id,
        resourceUuid: g.uuid,
      });
    });
  }

  /**
   * Puts a new VM into its groups at deploy, in the caller's transaction: the given groups (of the
   * VM's account) or, with none given and `network.securitygroups.defaultadding`, the account's
   * default group. Membership is fixed afterwards: a VM that already has groups is refused.
   */
  async joinAtDeploy(w: Writer, vmId: number, groupIds?: number[]): Promise<SecurityGroup[]> {
    const vm = await w.db
      .selectFrom('vmInstances')
      .select(['id', 'accountId', 'state'])
      .where('id', '=', vmId)
      .where('removed', 'is', null)
      .executeTakeFirst();
    if (!vm) throw new NotFoundError('VirtualMachine', 'vmId', vmId);
    const has = await w.db.selectFrom('securityGroupMembers').select('id').where('vmId', '=', vmId).executeTakeFirst();
    if (has)
      throw new InvalidParameterError('vmId', vmId, "a VM's security groups are fixed at deploy and cannot change");
    const accountId = Number(vm.accountId);
    let groups: SecurityGroup[];
    if (groupIds === undefined || groupIds.length === 0) {
      if (!(await this.settings.get('network.securitygroups.defaultadding', {}, w.db))) return [];
      groups = [await this.ensureDefault(w, accountId)];
    } else {
      groups = [];
      for (const id of groupIds) {
        const g = await securityGroupRepo.find(w.db, id);
        if (!g) throw new InvalidParameterError('securityGroupIds', id, 'no such security group');
        if (g.accountId !== accountId)
          throw new InvalidParameterError('securityGroupIds', id, `group ${g.name} belongs to another account`);
        if (!groups.some((x) => x.id === g.id)) groups.push(g);
      }
    }
    for (const g of groups)
      await w.db.insertInto('securityGroupMembers').values({ securityGroupId: g.id, vmId, created: w.now }).execute();
    return groups;
  }

  /** The groups a VM is in. */
  async groupsOf(vmId: Ref, db: Db = this.ctx.db): Promise<SecurityGroup[]> {
    vmId = await resolveRef(db, vmRefs, vmId, 'vmId');
    const ids = (
      await db
        .selectFrom('securityGroupMembers')
        .select('securityGroupId')
        .where('vmId', '=', vmId)
        .orderBy('securityGroupId')
        .execute()
    ).map((r) => Number(r.securityGroupId));
    const out: SecurityGroup[] = [];
    for (const id of ids) {
      const g = await securityGroupRepo.find(db, id);
      if (g) out.push(g);
    }
    return out;
  }

  /**
   * A VM's effective rule set: the union of its groups' rules, group references resolved to the
   * current addresses of the referenced groups' members. Drivers push this per host.
   */
  async effectiveRules(vmId: Ref, db: Db = this.ctx.db): Promise<EffectiveSecurityRules> {
    vmId = await resolveRef(db, vmRefs, vmId, 'vmId');
    const groups = await this.groupsOf(vmId, db);
    const ingress: EffectiveRule[] = [];
    const egress: EffectiveRule[] = [];
    const memberCache = new Map<number, string[]>();
    for (const g of groups) {
      for (const r of await this.rules(g.id, db)) {
        const cidrs = [...r.cidrs];
        for (const ref of r.groupRefs) {
          if (!memberCache.has(ref)) memberCache.set(ref, await this.memberAddresses(db, ref));
          for (const a of memberCache.get(ref) ?? []) if (!cidrs.includes(`${a}/32`)) cidrs.push(`${a}/32`);
        }
        const e: EffectiveRule = {
          protocol: r.protocol,
          startPort: r.startPort,
          endPort: r.endPort,
          icmpType: r.icmpType,
          icmpCode: r.icmpCode,
          cidrs,
          ruleUuid: r.uuid,
        };
        (r.direction === 'ingress' ? ingress : egress).push(e);
      }
    }
    return {
      vmId,
      addresses: await this.vmAddresses(db, vmId),
      ingress,
      egress: { allowAll: egress.length === 0, rules: egress, alwaysAllowed: ['dns', 'dhcp'] },
    };
  }

  /**
   * The VMs whose effective rules change when `groupId` changes (its rules or its membership):
   * its members and the members of every group with a rule naming it — running or stopped.
   */
  async affectedVms(groupId: Ref, db: Db = this.ctx.db): Promise<number[]> {
    groupId = await securityGroupRepo.resolve(db, groupId, 'groupId');
    const referencing = (await db.selectFrom('securityGroupRules').select(['securityGroupId', 'groupRefs']).execute())
      .filter((r) => (JSON.parse(r.groupRefs) as number[]).includes(groupId))
      .map((r) => Number(r.securityGroupId));
    const groups = [...new Set([groupId, ...referencing])];
    const rows = await db
      .selectFrom('securityGroupMembers')
      .select('vmId')
      .where('securityGroupId', 'in', groups)
      .execute();
    return [...new Set(rows.map((r) => Number(r.vmId)))].sort((a, b) => a - b);
  }

  private async authorize(
    groupId: number,
    direction: 'ingress' | 'egress',
    input: SecurityGroupRuleInput,
  ): Promise<SecurityGroupRule> {
    return this.ctx.write(async (w) => {
      const g = await securityGroupRepo.get(w.db, groupId, 'groupId');
      this.owner(w, g.accountId);
      const spec = checkProtocolPorts(input, ['tcp', 'udp', 'icmp', 'all']);
      if ((input.cidrs === undefined) === (input.groups === undefined))
        throw new InvalidParameterError('cidrs', input.cidrs, 'give either cidrs or groups (account, group name)');
      const cidrs = input.cidrs === undefined ? [] : checkCidrs(input.cidrs);
      const refs: number[] = [];
      for (const ref of input.groups ?? []) {
        const [target] = await securityGroupRepo.list(w.db, { accountId: ref?.accountId, name: ref?.name });
        if (!target) throw new InvalidParameterError('groups', ref, 'no such security group');
        refs.push(target.id);
      }
      if (input.groups !== undefined && refs.length === 0)
        throw new InvalidParameterError('groups', input.groups, 'at least one group');
      const row = await w.db
        .insertInto('securityGroupRules')
        .values({
          uuid: newUuid(),
          securityGroupId: g.id,
          direction,
          ...spec,
          cidrs: json(cidrs),
          groupRefs: json(refs),
          created: w.now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await w.event({
        type: direction === 'ingress' ? 'SG.AUTH.INGRESS' : 'SG.AUTH.EGRESS',
        description: `${direction} rule added to security group ${g.name}`,
        resourceType: 'SecurityGroup',
        resourceId: g.id,
        resourceUuid: g.uuid,
        accountId: g.accountId,
        domainId: g.domainId,
      });
      return decodeSecurityGroupRule(row);
    });
  }

  private owner(w: Writer, accountId: number | undefined): number {
    const id = accountId ?? w.caller.accountId;
    if (id !== w.caller.accountId && !isRootAdmin(w.caller))
      throw new PermissionDeniedError(`account ${w.caller.accountId} may not manage security groups of account ${id}`);
    return id;
  }

  private async memberAddresses(db: Db, groupId: number): Promise<string[]> {
    const rows = await db
      .selectFrom('securityGroupMembers')
      .innerJoin('nics', 'nics.instanceId', 'securityGroupMembers.vmId')
      .select('nics.ip4Address')
      .where('securityGroupMembers.securityGroupId', '=', groupId)
      .where('nics.removed', 'is', null)
      .where('nics.ip4Address', 'is not', null)
      .orderBy('nics.id')
      .execute();
    return rows.map((r) => r.ip4Address as string);
  }

  private async vmAddresses(db: Db, vmId: number): Promise<string[]> {
    const rows = await db
      .selectFrom('nics')
      .select('ip4Address')
      .where('instanceId', '=', vmId)
      .where('removed', 'is', null)
      .where('ip4Address', 'is not', null)
      .orderBy('deviceId')
      .execute();
    return rows.map((r) => r.ip4Address as string);
  }
}
