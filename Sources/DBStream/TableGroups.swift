/// The table groups of n98-magerun2's `db:dump` (`config.yaml`, `table-groups`, as of its
/// commit 9aa95e46, 2026-05-31: 9.5.1 plus `@indexer_batches`), so `--strip @development` means
/// here what it means to every Magento developer. Patterns are written without the store's
/// table prefix; `@name` refers to another group.
public enum TableGroups {
    public struct Group: Sendable, Equatable {
        public let id: String
        public let tables: [String]
        public let description: String
    }

    public static let all: [Group] = [
        g("admin", "admin* magento_logging_event magento_logging_event_changes ui_bookmark authorization_role authorization_rule", "Admin tables"),
        g("oauth", "oauth_*", "OAuth tables"),
        g("log", "log_url log_url_info log_visitor log_visitor_info log_visitor_online report_event report_compared_product_index report_viewed_*", "Log tables"),
        g("sessions", "session persistent_session", "Database session tables"),
        g("stripped", "@log @sessions @dotmailer @newrelic_reporting @temp @ee_changelog @indexer_batches system_config_snapshot",
          "Standard definition for a stripped dump (logs, sessions, dotmailer, indexer noise)"),
        g("sales", """
          sales_order sales_order_address sales_order_aggregated_created sales_order_aggregated_updated sales_order_grid \
          sales_order_item sales_order_payment sales_order_status_history sales_order_tax sales_order_tax_item sequence_order_* \
          sales_invoice sales_invoice_* sales_invoiced_* sequence_invoice_* sales_shipment sales_shipment_* sales_shipping_* \
          sequence_shipment_* sales_creditmemo sales_creditmemo_* sequence_creditmemo_* sales_recurring_* sales_refunded_* \
          sales_payment_* enterprise_sales_* enterprise_customer_sales_* sales_bestsellers_* \
          magento_customercustomattributes_sales_flat_* inventory_reservation paypal_billing_agreement* \
          paypal_payment_transaction paypal_settlement_report* magento_rma magento_rma_grid magento_rma_status_history \
          magento_rma_shipping_label magento_rma_item_entity sequence_rma_item_* magento_sales_order_grid_archive \
          magento_sales_creditmemo_grid_archive magento_sales_invoice_grid_archive magento_sales_shipment_grid_archive
          """, "Sales data (orders, invoices, creditmemos etc)"),
        g("quotes", "negotiable_quote negotiable_quote_* quote quote_*", "Cart (quote) data"),
        g("customers", """
          customer_address* customer_entity customer_entity_* customer_grid_flat customer_log customer_visitor \
          newsletter_subscriber product_alert* vault_payment_token vault_payment_token_* wishlist wishlist_* company \
          company_* magento_giftcardaccount magento_customerbalance magento_customerbalance_history \
          magento_customersegment_customer magento_reward magento_reward_history
          """, "Customer data - Should not be used without @sales"),
        g("trade", "@customers @sales @quotes @klarna @mailchimp",
          "Current trade data (customers and orders). You usally do not want those in developer systems."),
        g("development", "@admin @oauth @trade @stripped @search @2fa @aggregated",
          "Removes logs and trade data so developers do not have to work with real customer data"),
        g("ee_changelog", "*_cl", "Changelog tables of new indexer since EE 1.13"),
        g("indexer_batches", "*_index_batches", "Indexer batch tables (data exporter, etc.) — regenerated on demand"),
        g("search", "catalogsearch_* search_query search_synonyms", "Search related tables"),
        g("idx", "*_idx", "Tables with _idx suffix"),
        g("dotmailer", """
          email_abandoned_cart email_automation email_campaign email_catalog email_contact email_contact_consent \
          email_coupon_attribute email_failed_auth email_importer email_order email_review email_rules email_wishlist
          """, "Dotmailer tables"),
        g("2fa", "msp_tfa_user_config msp_tfa_trusted", "Two Factor Auth tables"),
        g("newrelic_reporting", "reporting_*", "New Relic reporting tables"),
        g("aggregated", "*_aggregated *_aggregated_updated *_aggregated_created *_aggregated_daily *_aggregated_monthly *_aggregated_yearly *_aggregated_order",
          "Aggregated tables"),
        g("replica", "*_replica", "Replica tables"),
        g("klarna", "klarna_*", "Klarna tables"),
        g("temp", "*__temp*", "Temporary indexer tables"),
        g("mailchimp", "mailchimp_*", "Mailchimp tables"),
    ]

    public static func named(_ id: String) -> Group? { all.first { $0.id == id } }

    private static func g(_ id: String, _ tables: String, _ description: String) -> Group {
        Group(id: id, tables: tables.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init), description: description)
    }
}
