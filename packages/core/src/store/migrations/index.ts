import type { Migration } from 'kysely';
import type { StoreEngine } from '../dialect.js';
import { foundation } from './0001-foundation.js';
import { seed } from './0002-seed.js';
import { capacity } from './0003-capacity.js';
import { ipam } from './0004-ipam.js';
import { network } from './0005-network.js';
import { orchestration } from './0006-orchestration.js';
import { storage } from './0007-storage.js';
import { vpn } from './0008-vpn.js';
import { usage } from './0009-usage.js';
import { accountIndexes } from './0010-account-indexes.js';
import { resourceLimits } from './0011-resource-limits.js';
import { deployIndexes } from './0012-deploy-indexes.js';
import { lookupIndexes } from './0013-lookup-indexes.js';
import { allocationRules } from './0014-allocation-rules.js';
import { placementEpoch } from './0015-placement-epoch.js';
import { vmIso } from './0016-vm-iso.js';

/**
 * Every migration, in order. A migration's name never changes once released; new schema goes in a
 * new file appended here.
 */
export function migrations(engine: StoreEngine): Record<string, Migration> {
  return {
    '0001-foundation': foundation(engine),
    '0002-seed': seed(engine),
    '0003-capacity': capacity(engine),
    '0004-ipam': ipam(engine),
    '0005-network': network(engine),
    '0006-orchestration': orchestration(engine),
    '0007-storage': storage(engine),
    '0008-vpn': vpn(engine),
    '0009-usage': usage(engine),
    '0010-account-indexes': accountIndexes(),
    '0011-resource-limits': resourceLimits(engine),
    '0012-deploy-indexes': deployIndexes(),
    '0013-lookup-indexes': lookupIndexes(),
    '0014-allocation-rules': allocationRules(engine),
    '0015-placement-epoch': placementEpoch(engine),
    '0016-vm-iso': vmIso(),
  };
}
