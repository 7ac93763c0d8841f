import type { Reporter, TestModule } from 'vitest/node';

/**
 * Lists every skipped test by name at the end of a run, so a skip is never silent (the suite has
 * no skipped tests except the Redis ones when no Redis server is available).
 */
export default class SkippedTestsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>) {
    const skipped = testModules.flatMap((module) =>
      [...module.children.allTests('skipped')].map((test) => `  - ${module.moduleId.replace(`${process.cwd()}/`, '')} > ${test.fullName}`),
    );
    if (skipped.length === 0) return;
    console.log(`\nSkipped tests (${skipped.length}):\n${skipped.join('\n')}`);
    console.log('Redis tests run when redis-server is on PATH or REDIS_URL is set; REQUIRE_REDIS=1 makes a missing Redis a failure.\n');
  }
}
