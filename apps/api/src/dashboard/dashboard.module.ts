import { Module } from '@nestjs/common';
import { DashboardController } from './dashboard.controller.js';
import { DashboardAssets } from './dashboard.assets.js';

/** `GET /admin` and its files. The data it shows comes from `GET /v1/admin/health`. */
@Module({
  controllers: [DashboardController],
  providers: [DashboardAssets],
})
export class DashboardModule {}
