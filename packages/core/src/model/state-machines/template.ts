import { StateMachine } from '../state-machine.js';

/**
 * Template / ISO entity states (CloudStack `VirtualMachineTemplate.State`), resource-model.md
 * §12.9. Readiness is per zone (per image-store copy, see `dataObjectInStoreStateMachine`),
 * not this entity state (§15 pitfall 12).
 */
export const TEMPLATE_STATES = ['Active', 'NotUploaded', 'UploadInProgress', 'UploadError', 'UploadAbandoned'] as const;

/** A template / ISO entity state. */
export type TemplateState = (typeof TEMPLATE_STATES)[number];

/** Template / ISO entity events, resource-model.md §12.9. */
export const TEMPLATE_EVENTS = [
  'UploadRequested',
  'OperationSucceeded',
  'OperationFailed',
  'OperationTimeout',
] as const;

/** A template / ISO entity event. */
export type TemplateEvent = (typeof TEMPLATE_EVENTS)[number];

/** URL-registered templates start `Active`. */
export const TEMPLATE_REGISTERED_INITIAL_STATE = 'Active' satisfies TemplateState;

/** Browser-upload templates start `NotUploaded`. */
export const TEMPLATE_UPLOAD_INITIAL_STATE = 'NotUploaded' satisfies TemplateState;

/** The template / ISO entity state machine (resource-model.md §12.9). */
export const templateStateMachine = new StateMachine<TemplateState, TemplateEvent>(
  'Template',
  TEMPLATE_STATES,
  TEMPLATE_EVENTS,
  [
    { from: ['NotUploaded'], on: ['UploadRequested'], to: 'UploadInProgress' },
    { from: ['NotUploaded'], on: ['OperationSucceeded'], to: 'Active' },
    { from: ['NotUploaded'], on: ['OperationFailed'], to: 'UploadError' },
    { from: ['NotUploaded'], on: ['OperationTimeout'], to: 'UploadAbandoned' },
    { from: ['UploadInProgress'], on: ['OperationSucceeded'], to: 'Active' },
    { from: ['UploadInProgress'], on: ['OperationFailed', 'OperationTimeout'], to: 'UploadError' },
  ],
);
