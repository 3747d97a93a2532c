/**
 * jest's globalSetup for a Tango project (`globalSetup: '@tango/core/testing/jest_global_setup'`):
 * one line for the services the run lacks, where every suite would otherwise print its own.
 */
import { report_missing_services } from './services';

export default function global_setup(): void {
  report_missing_services();
}
