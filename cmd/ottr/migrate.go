package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the database schema",
		Long: `Apply the embedded schema migrations to the database (SQLite in --data-dir,
or PostgreSQL with --database). Safe to run again and from several replicas
at once. Other commands, and serve, migrate on start too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			cur, latest, err := db.MigrationStatus(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s database schema at version %d (latest %d)\n", db.Dialect(), cur, latest)
			return nil
		},
	}
}
