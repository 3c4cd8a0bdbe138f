import { z } from 'zod';
import { defineChannel } from '../define.ts';
import { empty, findingSchema, labelMap, name, savedFileSchema, servicePolicySchema } from './schemas.ts';

const serviceSchema = z.strictObject({
  name: z.string(),
  rtype: z.string().nullable(),
  replicas: z.number().int().nullable(),
  policy: servicePolicySchema,
});

const deploymentSchema = z.strictObject({
  name: z.string(),
  source_file: z.string().nullable(),
  imported_at: z.string(),
  updated_at: z.string(),
  services: z.array(serviceSchema),
});

const importResult = z.strictObject({ cancelled: z.boolean(), imported: z.array(z.string()) });

export const deploymentsContract = {
  'deployments:list': defineChannel({
    summary: 'list deployments with their services and resolved policies',
    input: empty,
    output: z.array(deploymentSchema),
  }),
  'deployments:importDialog': defineChannel({
    summary: 'choose spec files in a native dialog and import them',
    input: z.strictObject({ replace: z.boolean().default(false), folder: z.boolean().default(false) }),
    output: importResult,
  }),
  'deployments:importTexts': defineChannel({
    summary: 'import specs dropped on the window',
    input: z.strictObject({
      files: z.array(z.strictObject({ name: z.string().min(1).max(255), text: z.string().max(4 * 1024 * 1024) })).min(1).max(1000),
      replace: z.boolean().default(false),
    }),
    output: importResult,
  }),
  'deployments:export': defineChannel({
    summary: 'save a deployment spec through a native dialog',
    input: z.strictObject({ name }),
    output: savedFileSchema,
  }),
  'policy:get': defineChannel({
    summary: 'resolve one service’s policy',
    input: z.strictObject({ deployment: name, service: name }),
    output: servicePolicySchema,
  }),
  'policy:setLabels': defineChannel({
    summary: 'replace one service’s labels',
    input: z.strictObject({ deployment: name, service: name, labels: labelMap }),
    output: servicePolicySchema,
  }),
  'policy:findings': defineChannel({
    summary: 'risk findings for every service',
    input: empty,
    output: z.array(findingSchema),
  }),
} as const;
